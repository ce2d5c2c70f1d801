namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>DownBlock2D</c>, <c>AttnDownBlock2D</c>, <c>CrossAttnDownBlock2D</c> and the VAE's
/// <c>DownEncoderBlock2D</c> (<c>src/diffusers/models/unets/unet_2d_blocks.py</c>): <c>numLayers</c> residual blocks,
/// the first from <c>inChannels</c>, each followed by an attention in the <c>Attn</c> variants (a feature-map
/// self-attention, or a <see cref="Transformer2DModel"/> with cross-attention), then an optional downsampler. Keys:
/// <c>attentions.i.*</c> (attention variants only), <c>resnets.i.*</c>, <c>downsamplers.0.*</c>.
/// </summary>
/// <remarks>In a U-Net every residual block's (or attention's) output, and the downsampler's, is handed to the up path
/// as a skip (<see cref="Forward"/>); the VAE's encoder block has neither time embedding nor skips
/// (<see cref="ResnetStackBlock2D.forward"/>).</remarks>
internal sealed class DownBlock2D : ResnetStackBlock2D
{
    /// <summary>Creates the block with the attention <paramref name="attention"/> makes after each residual block.</summary>
    /// <param name="numLayers">Residual blocks (diffusers' <c>layers_per_block</c>).</param>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of every residual block's output.</param>
    /// <param name="settings">The residual blocks' shared settings.</param>
    /// <param name="attention">Makes the attention of one layer from its channel count (an <see cref="IBlockAttention"/>
    /// module); null for a block without attention.</param>
    /// <param name="downsample">The downsampler: a convolution, a residual block, or none (the last level).</param>
    /// <param name="downsamplePadding">The downsampling convolution's padding; 0 pads the input by one pixel on the
    /// right and bottom only (the VAE's).</param>
    public DownBlock2D(int numLayers, int inChannels, int outChannels, ResnetSettings settings, Func<int, nn.Module>? attention, ResampleType? downsample, int downsamplePadding)
        : base(
            nameof(DownBlock2D), numLayers, i => i == 0 ? inChannels : outChannels, outChannels, settings, attention, ResnetResample.Down,
            Resampler(downsample, ResnetResample.Down, settings, outChannels, () => new Downsample2D(outChannels, useConv: true, outChannels, downsamplePadding)))
    {
    }

    /// <summary>Runs the block, adding each skip to <paramref name="skips"/>.</summary>
    /// <param name="x">The input, <c>[N, inChannels, H, W]</c>.</param>
    /// <param name="temb">The time embedding.</param>
    /// <param name="skips">Receives the skip tensors, in order (they belong to the caller's dispose scope).</param>
    /// <param name="context">The encoder states for cross-attention, <c>[N, S, D]</c>; null for blocks without it.</param>
    /// <param name="contextBias">The additive bias <c>[N, 1, S]</c> on the cross-attention scores; null for none.</param>
    /// <returns>The output, <c>[N, outChannels, H/2, W/2]</c> (or H, W without a downsampler).</returns>
    public Tensor Forward(Tensor x, Tensor temb, List<Tensor> skips, Tensor? context = null, Tensor? contextBias = null)
    {
        for (int i = 0; i < Layers; i++)
        {
            x = Layer(i, x, temb, context, contextBias);                                // [N, out, H, W]
            skips.Add(x);
        }

        if (Resamples)
        {
            x = Resample(x, temb, null);
            skips.Add(x);                                                               // [N, out, H/2, W/2]
        }

        return x;
    }
}
