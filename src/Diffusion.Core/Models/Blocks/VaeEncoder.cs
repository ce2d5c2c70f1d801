using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>Encoder</c> (<c>src/diffusers/models/autoencoders/vae.py</c>) as <c>AutoencoderKL</c> builds it
/// (<c>double_z=True</c>): image → mean and log-variance of the latent. Keys: <c>conv_in</c>, <c>down_blocks.i.*</c>,
/// <c>mid_block.*</c>, <c>conv_norm_out</c>, <c>conv_out</c>.
/// </summary>
/// <remarks>
/// <code>
/// x = conv_in(image)                                     // [N, c0, H, W]
/// for each level: x = DownEncoderBlock2D(x)              // halves H, W except at the last level
/// x = mid_block(x)                                       // resnet, attention (one head of c[-1]), resnet
/// out = conv_out(SiLU(conv_norm_out(x)))                 // [N, 2·latent, H/2^(L−1), W/2^(L−1)]
/// </code>
/// Every GroupNorm has eps 1e-6, as diffusers hard-codes it for the VAE.
/// </remarks>
internal sealed class VaeEncoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv_in;
    private readonly ModuleList<DownEncoderBlock2D> down_blocks;
    private readonly UNetMidBlock2D mid_block;
    private readonly GroupNorm conv_norm_out;
    private readonly SiLU conv_act;
    private readonly Conv2d conv_out;

    /// <summary>Creates the encoder for a validated configuration.</summary>
    /// <param name="c">The configuration.</param>
    public VaeEncoder(AutoencoderKLConfig c)
        : base(nameof(VaeEncoder))
    {
        IReadOnlyList<int> channels = c.BlockOutChannels;
        ResnetSettings settings = VaeSettings(c);
        conv_in = nn.Conv2d(c.InChannels, channels[0], 3, padding: 1);
        down_blocks = nn.ModuleList([
            .. Enumerable.Range(0, channels.Count).Select(i =>
                new DownEncoderBlock2D(c.LayersPerBlock, channels[Math.Max(i - 1, 0)], channels[i], settings, addDownsample: i < channels.Count - 1)),
        ]);
        mid_block = new UNetMidBlock2D(channels[^1], settings, attentionHeadDim: channels[^1], attentionGroups: c.NormNumGroups, c.MidBlockAddAttention);
        conv_norm_out = Layers.GroupNorm(c.NormNumGroups, channels[^1], VaeEps);
        conv_act = nn.SiLU();
        conv_out = nn.Conv2d(channels[^1], 2 * c.LatentChannels, 3, padding: 1);
        RegisterComponents();
    }

    /// <summary>diffusers' VAE GroupNorm epsilon (<c>resnet_eps=1e-6</c> and the output norm's <c>eps=1e-6</c>).</summary>
    internal const double VaeEps = 1e-6;

    /// <summary>The residual blocks' settings of diffusers' VAE encoder and decoder: no time embedding, eps 1e-6.</summary>
    internal static ResnetSettings VaeSettings(AutoencoderKLConfig c) =>
        new(TembChannels: null, c.NormNumGroups, VaeEps, c.ActFn, ResnetTimeScaleShift.Default, Dropout: 0.0);

    /// <summary>Encodes images.</summary>
    /// <param name="x">Images <c>[N, in_channels, H, W]</c>.</param>
    /// <returns>A new tensor <c>[N, 2·latent_channels, h, w]</c>: the mean, then the log-variance; the caller owns it.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = conv_in.call(x);                                                            // [N, c0, H, W]
        foreach (DownEncoderBlock2D block in down_blocks)
        {
            x = block.call(x);
        }

        x = mid_block.call(x, null);                                                    // [N, c[-1], h, w]
        x = conv_out.call(conv_act.call(conv_norm_out.call(x)));                        // [N, 2·latent, h, w]
        return x.MoveToOuterDisposeScope();
    }
}
