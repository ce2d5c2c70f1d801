using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>Encoder</c> and <c>Decoder</c> (<c>src/diffusers/models/autoencoders/vae.py</c>) as <c>AutoencoderKL</c>
/// builds them (<c>double_z=True</c>, <c>norm_type="group"</c>): one shape, mirrored. The <see cref="Encoder"/> maps an
/// image to the mean and log-variance of its latent; the <see cref="Decoder"/> maps a latent to an image. Keys:
/// <c>conv_in</c>, <c>down_blocks.i.*</c> (encoder), <c>mid_block.*</c>, <c>up_blocks.i.*</c> (decoder),
/// <c>conv_norm_out</c>, <c>conv_out</c>. The half without down (up) levels holds an empty list, which has no keys.
/// </summary>
/// <remarks>
/// <code>
/// encoder                                                decoder
/// x = conv_in(image)          // [N, c0, H, W]           x = conv_in(z)              // [N, c[-1], h, w]
/// x = down_blocks(x)          // halves H, W but last    x = mid_block(x)
/// x = mid_block(x)                                       x = up_blocks(x)            // layers_per_block + 1 resnets; doubles h, w but last
/// out = conv_out(SiLU(conv_norm_out(x)))                 out = conv_out(SiLU(conv_norm_out(x)))
///       // [N, 2·latent, H/2^(L−1), W/2^(L−1)]                 // [N, out_channels, H, W]
/// </code>
/// The mid block is a resnet, an attention (one head of <c>c[-1]</c>) and a resnet. Every GroupNorm has eps 1e-6, as
/// diffusers hard-codes it for the VAE.
/// </remarks>
internal sealed class VaeCoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv_in;
    private readonly ModuleList<DownBlock2D> down_blocks;
    private readonly UNetMidBlock2D mid_block;
    private readonly ModuleList<UpBlock2D> up_blocks;
    private readonly GroupNorm conv_norm_out;
    private readonly SiLU conv_act;
    private readonly Conv2d conv_out;

    /// <summary>diffusers' VAE GroupNorm epsilon (<c>resnet_eps=1e-6</c> and the output norm's <c>eps=1e-6</c>).</summary>
    private const double VaeEps = 1e-6;

    /// <summary>Creates the layers in diffusers' order (the order the random initialisation runs in).</summary>
    /// <param name="name">The module's name.</param>
    /// <param name="c">The configuration.</param>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="inWidth">Channels <c>conv_in</c> makes.</param>
    /// <param name="downBlocks">Makes the encoder's levels (before the mid block); null for the decoder.</param>
    /// <param name="upBlocks">Makes the decoder's levels (after the mid block); null for the encoder.</param>
    /// <param name="outWidth">Channels entering <c>conv_norm_out</c>.</param>
    /// <param name="outChannels">Channels of the output.</param>
    private VaeCoder(
        string name,
        AutoencoderKLConfig c,
        int inChannels,
        int inWidth,
        Func<ResnetSettings, DownBlock2D[]>? downBlocks,
        Func<ResnetSettings, UpBlock2D[]>? upBlocks,
        int outWidth,
        int outChannels)
        : base(name)
    {
        var settings = new ResnetSettings(TembChannels: null, c.NormNumGroups, VaeEps, c.ActFn, ResnetTimeScaleShift.Default, Dropout: 0.0);
        int bottleneck = c.BlockOutChannels[^1];
        conv_in = nn.Conv2d(inChannels, inWidth, 3, padding: 1);
        down_blocks = nn.ModuleList(downBlocks?.Invoke(settings) ?? []);
        mid_block = new UNetMidBlock2D(bottleneck, settings, settings.SpatialAttentions(c.MidBlockAddAttention, headDim: null, c.NormNumGroups));
        up_blocks = nn.ModuleList(upBlocks?.Invoke(settings) ?? []);
        conv_norm_out = Layers.GroupNorm(c.NormNumGroups, outWidth, VaeEps);
        conv_act = nn.SiLU();
        conv_out = nn.Conv2d(outWidth, outChannels, 3, padding: 1);
        RegisterComponents();
    }

    /// <summary>diffusers' <c>Encoder</c>: image → mean and log-variance of the latent.</summary>
    /// <param name="c">A validated configuration.</param>
    /// <returns>The encoder; its output is <c>[N, 2·latent_channels, h, w]</c>, the mean, then the log-variance.</returns>
    public static VaeCoder Encoder(AutoencoderKLConfig c)
    {
        IReadOnlyList<int> ch = c.BlockOutChannels;
        return new VaeCoder(
            "VaeEncoder", c, c.InChannels, ch[0],
            downBlocks: settings => [.. Enumerable.Range(0, ch.Count).Select(i => new DownBlock2D(
                c.LayersPerBlock, ch[Math.Max(i - 1, 0)], ch[i], settings, attention: null, i < ch.Count - 1 ? ResampleType.Conv : null, downsamplePadding: 0))],
            upBlocks: null,
            outWidth: ch[^1], outChannels: 2 * c.LatentChannels);
    }

    /// <summary>diffusers' <c>Decoder</c>: latent (after <c>post_quant_conv</c>) → image.</summary>
    /// <param name="c">A validated configuration.</param>
    /// <returns>The decoder; its output is <c>[N, out_channels, h·2^(L−1), w·2^(L−1)]</c>.</returns>
    public static VaeCoder Decoder(AutoencoderKLConfig c)
    {
        IReadOnlyList<int> ch = c.BlockOutChannels;
        int levels = ch.Count;
        return new VaeCoder(
            "VaeDecoder", c, c.LatentChannels, ch[^1],
            downBlocks: null,
            upBlocks: settings => [.. Enumerable.Range(0, levels).Select(i => UpBlock2D.Decoder(
                c.LayersPerBlock + 1, ch[levels - Math.Max(i, 1)], ch[levels - 1 - i], settings, addUpsample: i < levels - 1))],
            outWidth: ch[0], outChannels: c.OutChannels);
    }

    /// <summary>Encodes images or decodes latents.</summary>
    /// <param name="x">Images <c>[N, in_channels, H, W]</c> (encoder) or latents <c>[N, latent_channels, h, w]</c> (decoder).</param>
    /// <returns>A new tensor; the caller owns it.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = conv_in.call(x);                                                            // [N, c0 (encoder) or c[-1] (decoder), H, W]
        foreach (DownBlock2D block in down_blocks)
        {
            x = block.call(x);
        }

        x = mid_block.call(x, null);                                                    // [N, c[-1], h, w]
        foreach (UpBlock2D block in up_blocks)
        {
            x = block.call(x);
        }

        x = conv_out.call(conv_act.call(conv_norm_out.call(x)));                        // [N, 2·latent (encoder) or out (decoder), H, W]
        return x.MoveToOuterDisposeScope();
    }
}
