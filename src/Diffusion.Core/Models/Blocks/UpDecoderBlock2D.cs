using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>UpDecoderBlock2D</c> (<c>src/diffusers/models/unets/unet_2d_blocks.py</c>), the VAE decoder's block:
/// <c>numLayers</c> residual blocks without a time embedding (and without skips), then (except at the last level)
/// nearest-neighbour ×2 and a 3×3 convolution. Keys: <c>resnets.i.*</c>, <c>upsamplers.0.conv.*</c>.
/// </summary>
internal sealed class UpDecoderBlock2D : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Upsample2D>? upsamplers;

    /// <summary>Creates the block.</summary>
    /// <param name="numLayers">Residual blocks (diffusers' <c>layers_per_block + 1</c>).</param>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of every residual block's output.</param>
    /// <param name="settings">The residual blocks' settings (no time embedding).</param>
    /// <param name="addUpsample">Whether the block doubles the resolution at its end.</param>
    public UpDecoderBlock2D(int numLayers, int inChannels, int outChannels, ResnetSettings settings, bool addUpsample)
        : base(nameof(UpDecoderBlock2D))
    {
        resnets = nn.ModuleList([.. Enumerable.Range(0, numLayers).Select(i => settings.Resnet(i == 0 ? inChannels : outChannels, outChannels))]);
        upsamplers = addUpsample ? nn.ModuleList(new Upsample2D(outChannels, useConv: true, outChannels)) : null;
        RegisterComponents();
    }

    /// <summary>Runs the block.</summary>
    /// <param name="x">The input, <c>[N, inChannels, H, W]</c>.</param>
    /// <returns>A new tensor <c>[N, outChannels, 2H, 2W]</c> (H, W at the last level); the caller owns it.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        foreach (ResnetBlock2D resnet in resnets)
        {
            x = resnet.call(x, null);                                                   // [N, out, H, W]
        }

        if (upsamplers is not null)
        {
            x = upsamplers[0].call(x);                                                  // [N, out, 2H, 2W]
        }

        return x.MoveToOuterDisposeScope();
    }
}
