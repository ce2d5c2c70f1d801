using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>Decoder</c> (<c>src/diffusers/models/autoencoders/vae.py</c>) with <c>norm_type="group"</c>, as
/// <c>AutoencoderKL</c> builds it: latent → image. Keys: <c>conv_in</c>, <c>mid_block.*</c>, <c>up_blocks.i.*</c>,
/// <c>conv_norm_out</c>, <c>conv_out</c>.
/// </summary>
/// <remarks>
/// <code>
/// x = conv_in(z)                                         // [N, c[-1], h, w]
/// x = mid_block(x)                                       // resnet, attention (one head of c[-1]), resnet
/// for each level, innermost first: x = UpDecoderBlock2D(x) // layers_per_block + 1 resnets; doubles h, w except at the last
/// out = conv_out(SiLU(conv_norm_out(x)))                 // [N, out_channels, H, W]
/// </code>
/// </remarks>
internal sealed class VaeDecoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv_in;
    private readonly UNetMidBlock2D mid_block;
    private readonly ModuleList<UpDecoderBlock2D> up_blocks;
    private readonly GroupNorm conv_norm_out;
    private readonly SiLU conv_act;
    private readonly Conv2d conv_out;

    /// <summary>Creates the decoder for a validated configuration.</summary>
    /// <param name="c">The configuration.</param>
    public VaeDecoder(AutoencoderKLConfig c)
        : base(nameof(VaeDecoder))
    {
        IReadOnlyList<int> channels = c.BlockOutChannels;
        int levels = channels.Count;
        ResnetSettings settings = VaeEncoder.VaeSettings(c);
        conv_in = nn.Conv2d(c.LatentChannels, channels[^1], 3, padding: 1);
        mid_block = new UNetMidBlock2D(channels[^1], settings, attentionHeadDim: channels[^1], attentionGroups: c.NormNumGroups, c.MidBlockAddAttention);
        up_blocks = nn.ModuleList([
            .. Enumerable.Range(0, levels).Select(i =>
                new UpDecoderBlock2D(c.LayersPerBlock + 1, channels[levels - Math.Max(i, 1)], channels[levels - 1 - i], settings, addUpsample: i < levels - 1)),
        ]);
        conv_norm_out = Layers.GroupNorm(c.NormNumGroups, channels[0], VaeEncoder.VaeEps);
        conv_act = nn.SiLU();
        conv_out = nn.Conv2d(channels[0], c.OutChannels, 3, padding: 1);
        RegisterComponents();
    }

    /// <summary>Decodes latents.</summary>
    /// <param name="z">Latents <c>[N, latent_channels, h, w]</c> (after <c>post_quant_conv</c>).</param>
    /// <returns>A new tensor <c>[N, out_channels, h·2^(L−1), w·2^(L−1)]</c>; the caller owns it.</returns>
    public override Tensor forward(Tensor z)
    {
        using var scope = NewDisposeScope();
        Tensor x = conv_in.call(z);                                                     // [N, c[-1], h, w]
        x = mid_block.call(x, null);
        foreach (UpDecoderBlock2D block in up_blocks)
        {
            x = block.call(x);
        }

        x = conv_out.call(conv_act.call(conv_norm_out.call(x)));                        // [N, out, H, W]
        return x.MoveToOuterDisposeScope();
    }
}
