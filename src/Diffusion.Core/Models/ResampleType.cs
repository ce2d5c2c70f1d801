namespace Diffusion.Models;

/// <summary>How the attention blocks of a <see cref="UNet2DModel"/> change resolution (<c>downsample_type</c>, <c>upsample_type</c>).</summary>
/// <remarks>As in diffusers, only <c>AttnDownBlock2D</c> and <c>AttnUpBlock2D</c> read it; <c>DownBlock2D</c> and
/// <c>UpBlock2D</c> always use a convolution.</remarks>
public enum ResampleType
{
    /// <summary>A stride-2 3×3 convolution down, nearest-neighbour ×2 then a 3×3 convolution up (<c>"conv"</c>).</summary>
    Conv,

    /// <summary>A residual block with 2×2 average pooling down or nearest-neighbour ×2 up inside it (<c>"resnet"</c>, BigGAN style).</summary>
    Resnet,
}
