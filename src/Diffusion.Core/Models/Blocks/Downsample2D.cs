namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>Downsample2D</c> (<c>src/diffusers/models/downsampling.py</c>) as the U-Nets and the VAE build it
/// (<c>name="op"</c>): halves the resolution with a stride-2 3×3 convolution (key <c>conv</c>) or, without a
/// convolution, with 2×2 average pooling (no parameters).
/// </summary>
/// <remarks>With <c>padding</c> 0 the input is first padded by one pixel on the right and bottom only, as in the
/// original DDPM and LDM code.</remarks>
internal sealed class Downsample2D : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> conv;
    private readonly int channels;
    private readonly bool useConv;
    private readonly int padding;

    /// <summary>Creates the layer.</summary>
    /// <param name="channels">Channels of the input.</param>
    /// <param name="useConv">True for the strided convolution, false for average pooling.</param>
    /// <param name="outChannels">Channels of the output (the convolution only); null keeps <paramref name="channels"/>.</param>
    /// <param name="padding">The convolution's padding (diffusers' <c>downsample_padding</c>).</param>
    public Downsample2D(int channels, bool useConv, int? outChannels = null, int padding = 1)
        : base(nameof(Downsample2D))
    {
        int outs = outChannels ?? channels;
        if (!useConv && outs != channels)
        {
            throw new ArgumentException($"average pooling keeps the channel count: outChannels must be {channels}; got {outs}.", nameof(outChannels));
        }

        this.channels = channels;
        this.useConv = useConv;
        this.padding = padding;
        conv = useConv ? nn.Conv2d(channels, outs, 3, stride: 2, padding: padding) : nn.AvgPool2d(2, 2);
        RegisterComponents();
    }

    /// <summary>Halves the resolution of <paramref name="x"/>.</summary>
    /// <param name="x">The input, <c>[N, channels, H, W]</c>.</param>
    /// <returns>A new tensor <c>[N, outChannels, ⌈H/2⌉, ⌈W/2⌉]</c> (pooling: ⌊H/2⌋); the caller owns it.</returns>
    public override Tensor forward(Tensor x)
    {
        if (x.shape[1] != channels)
        {
            throw new ArgumentException($"Downsample2D expects {channels} channels; got [{string.Join(",", x.shape)}].", nameof(x));
        }

        using var scope = NewDisposeScope();
        Tensor h = useConv && padding == 0 ? nn.functional.pad(x, [0, 1, 0, 1]) : x;   // [N, C, H+1, W+1]
        return conv.call(h).MoveToOuterDisposeScope();
    }
}
