using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>Upsample2D</c> (<c>src/diffusers/models/upsampling.py</c>) with <c>name="conv"</c>: doubles the
/// resolution by nearest-neighbour interpolation, then (optionally) a 3×3 convolution (key <c>conv</c>).
/// </summary>
internal sealed class Upsample2D : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d? conv;
    private readonly int channels;

    /// <summary>Creates the layer.</summary>
    /// <param name="channels">Channels of the input.</param>
    /// <param name="useConv">True adds the 3×3 convolution after the interpolation.</param>
    /// <param name="outChannels">Channels of the output (the convolution only); null keeps <paramref name="channels"/>.</param>
    public Upsample2D(int channels, bool useConv, int? outChannels = null)
        : base(nameof(Upsample2D))
    {
        this.channels = channels;
        conv = useConv ? nn.Conv2d(channels, outChannels ?? channels, 3, padding: 1) : null;
        RegisterComponents();
    }

    /// <summary>Doubles the resolution of <paramref name="x"/>.</summary>
    /// <param name="x">The input, <c>[N, channels, H, W]</c>.</param>
    /// <returns>A new tensor <c>[N, outChannels, 2H, 2W]</c>; the caller owns it.</returns>
    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>Resizes <paramref name="x"/> to <paramref name="outputSize"/> (nearest neighbour), or doubles it when null.</summary>
    /// <param name="x">The input, <c>[N, channels, H, W]</c>.</param>
    /// <param name="outputSize">The output height and width, or null for 2H × 2W.</param>
    /// <returns>A new tensor; the caller owns it.</returns>
    public Tensor Forward(Tensor x, long[]? outputSize)
    {
        if (x.shape[1] != channels)
        {
            throw new ArgumentException($"Upsample2D expects {channels} channels; got [{string.Join(",", x.shape)}].", nameof(x));
        }

        using var scope = NewDisposeScope();
        Tensor h = outputSize is null
            ? nn.functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest)   // [N, C, 2H, 2W]
            : nn.functional.interpolate(x, size: outputSize, mode: InterpolationMode.Nearest);
        if (conv is not null)
        {
            h = conv.call(h);
        }

        return h.MoveToOuterDisposeScope();
    }
}
