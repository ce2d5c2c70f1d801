using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>DownEncoderBlock2D</c> (<c>src/diffusers/models/unets/unet_2d_blocks.py</c>), the VAE encoder's block:
/// <c>numLayers</c> residual blocks without a time embedding, then (except at the last level) a stride-2 convolution
/// with diffusers' <c>padding=0</c>, which pads the input by one pixel on the right and bottom only. Keys:
/// <c>resnets.i.*</c>, <c>downsamplers.0.conv.*</c>.
/// </summary>
internal sealed class DownEncoderBlock2D : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Downsample2D>? downsamplers;

    /// <summary>Creates the block.</summary>
    /// <param name="numLayers">Residual blocks (diffusers' <c>layers_per_block</c>).</param>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of every residual block's output.</param>
    /// <param name="settings">The residual blocks' settings (no time embedding).</param>
    /// <param name="addDownsample">Whether the block halves the resolution at its end.</param>
    public DownEncoderBlock2D(int numLayers, int inChannels, int outChannels, ResnetSettings settings, bool addDownsample)
        : base(nameof(DownEncoderBlock2D))
    {
        resnets = nn.ModuleList([.. Enumerable.Range(0, numLayers).Select(i => settings.Resnet(i == 0 ? inChannels : outChannels, outChannels))]);
        downsamplers = addDownsample ? nn.ModuleList(new Downsample2D(outChannels, useConv: true, outChannels, padding: 0)) : null;
        RegisterComponents();
    }

    /// <summary>Runs the block.</summary>
    /// <param name="x">The input, <c>[N, inChannels, H, W]</c>.</param>
    /// <returns>A new tensor <c>[N, outChannels, H/2, W/2]</c> (H, W at the last level); the caller owns it.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        foreach (ResnetBlock2D resnet in resnets)
        {
            x = resnet.call(x, null);                                                   // [N, out, H, W]
        }

        if (downsamplers is not null)
        {
            x = downsamplers[0].call(x);                                                // [N, out, H/2, W/2]
        }

        return x.MoveToOuterDisposeScope();
    }
}
