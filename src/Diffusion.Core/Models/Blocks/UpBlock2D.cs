namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>UpBlock2D</c>, <c>AttnUpBlock2D</c>, <c>CrossAttnUpBlock2D</c> and the VAE's <c>UpDecoderBlock2D</c>
/// (<c>src/diffusers/models/unets/unet_2d_blocks.py</c>): <c>numLayers</c> residual blocks, in a U-Net each taking the
/// running features concatenated with one skip (the last skip first), each followed by an attention in the
/// <c>Attn</c> variants (a feature-map self-attention, or a <see cref="Transformer2DModel"/> with cross-attention), then
/// an optional upsampler. Keys: <c>attentions.i.*</c> (attention variants only), <c>resnets.i.*</c>, <c>upsamplers.0.*</c>.
/// </summary>
/// <remarks>The VAE's decoder block (<see cref="Decoder"/>) takes neither skips nor a time embedding and runs through
/// <see cref="ResnetStackBlock2D.forward"/>.</remarks>
internal sealed class UpBlock2D : ResnetStackBlock2D
{
    /// <summary>Creates a U-Net block (diffusers' channel arithmetic) with the attention <paramref name="attention"/>
    /// makes after each residual block.</summary>
    /// <param name="numLayers">Residual blocks (diffusers' <c>layers_per_block + 1</c>).</param>
    /// <param name="inChannels">Channels of the last skip this block takes (the next-shallower level's width).</param>
    /// <param name="prevOutputChannel">Channels of the running features entering the block.</param>
    /// <param name="outChannels">Channels of every residual block's output.</param>
    /// <param name="settings">The residual blocks' shared settings.</param>
    /// <param name="attention">Makes the attention of one layer from its channel count (an <see cref="IBlockAttention"/>
    /// module); null for a block without attention.</param>
    /// <param name="upsample">The upsampler: a convolution, a residual block, or none (the last level).</param>
    public UpBlock2D(int numLayers, int inChannels, int prevOutputChannel, int outChannels, ResnetSettings settings, Func<int, nn.Module>? attention, ResampleType? upsample)
        : this(
            numLayers,
            i => (i == 0 ? prevOutputChannel : outChannels) + (i == numLayers - 1 ? inChannels : outChannels), // running features + skip
            outChannels,
            settings,
            attention,
            upsample)
    {
    }

    private UpBlock2D(int numLayers, Func<int, int> resnetInChannels, int outChannels, ResnetSettings settings, Func<int, nn.Module>? attention, ResampleType? upsample)
        : base(
            nameof(UpBlock2D), numLayers, resnetInChannels, outChannels, settings, attention, ResnetResample.Up,
            Resampler(upsample, ResnetResample.Up, settings, outChannels, () => new Upsample2D(outChannels, useConv: true, outChannels)))
    {
    }

    /// <summary>How many skips the block takes (one per residual block).</summary>
    public int SkipCount => Layers;

    /// <summary>The VAE decoder's <c>UpDecoderBlock2D</c>: residual blocks without a time embedding and without skips,
    /// then (except at the last level) nearest-neighbour ×2 and a 3×3 convolution.</summary>
    /// <param name="numLayers">Residual blocks (diffusers' <c>layers_per_block + 1</c>).</param>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of every residual block's output.</param>
    /// <param name="settings">The residual blocks' settings (no time embedding).</param>
    /// <param name="addUpsample">Whether the block doubles the resolution at its end.</param>
    /// <returns>The block; run it with <see cref="ResnetStackBlock2D.forward"/>.</returns>
    public static UpBlock2D Decoder(int numLayers, int inChannels, int outChannels, ResnetSettings settings, bool addUpsample) =>
        new(numLayers, i => i == 0 ? inChannels : outChannels, outChannels, settings, attention: null, addUpsample ? ResampleType.Conv : null);

    /// <summary>Runs the block, taking its skips from the end of <paramref name="skips"/>.</summary>
    /// <param name="x">The running features, <c>[N, prevOutputChannel, H, W]</c>.</param>
    /// <param name="skips">The down path's skips; the last <see cref="SkipCount"/> are removed and used, last first.</param>
    /// <param name="temb">The time embedding.</param>
    /// <param name="context">The encoder states for cross-attention, <c>[N, S, D]</c>; null for blocks without it.</param>
    /// <param name="contextBias">The additive bias <c>[N, 1, S]</c> on the cross-attention scores; null for none.</param>
    /// <param name="upsampleSize">The upsampler's output height and width (the next skip's); null doubles H and W.</param>
    /// <returns>The output, <c>[N, outChannels, 2H, 2W]</c> (or H, W without an upsampler).</returns>
    public Tensor Forward(Tensor x, List<Tensor> skips, Tensor temb, Tensor? context = null, Tensor? contextBias = null, long[]? upsampleSize = null)
    {
        for (int i = 0; i < Layers; i++)
        {
            Tensor skip = skips[^1];
            skips.RemoveAt(skips.Count - 1);
            x = Layer(i, cat([x, skip], 1), temb, context, contextBias);                // (x, skip) along channels
        }

        return Resample(x, temb, upsampleSize);
    }
}
