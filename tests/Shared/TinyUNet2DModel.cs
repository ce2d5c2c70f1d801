using Diffusion.Models;

namespace Diffusion.Tests;

/// <summary>The small diffusers-layout U-Net the tests share: two levels of 16 and 32 channels, attention at the second.</summary>
internal static class TinyUNet2DModel
{
    /// <summary>The configuration; change it with <c>with { … }</c>.</summary>
    public static UNet2DModelConfig Config { get; } = new()
    {
        BlockOutChannels = [16, 32],
        DownBlockTypes = ["DownBlock2D", "AttnDownBlock2D"],
        UpBlockTypes = ["AttnUpBlock2D", "UpBlock2D"],
        LayersPerBlock = 1,
        NormNumGroups = 8,
        AttentionHeadDim = 8,
    };
}
