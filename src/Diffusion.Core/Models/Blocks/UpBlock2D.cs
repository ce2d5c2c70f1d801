using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>UpBlock2D</c>, <c>AttnUpBlock2D</c> and <c>CrossAttnUpBlock2D</c>
/// (<c>src/diffusers/models/unets/unet_2d_blocks.py</c>): <c>numLayers</c> residual blocks, each taking the running
/// features concatenated with one skip (the last skip first), each followed by an attention in the <c>Attn</c>
/// variants (a feature-map self-attention, or a <see cref="Transformer2DModel"/> with cross-attention), then an
/// optional upsampler. Keys: <c>attentions.i.*</c> (attention variants only), <c>resnets.i.*</c>, <c>upsamplers.0.*</c>.
/// </summary>
internal sealed class UpBlock2D : nn.Module
{
    private readonly ModuleList<nn.Module>? attentions;
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<nn.Module>? upsamplers;

    /// <summary>Creates the block (diffusers' channel arithmetic).</summary>
    /// <param name="numLayers">Residual blocks (diffusers' <c>layers_per_block + 1</c>).</param>
    /// <param name="inChannels">Channels of the last skip this block takes (the next-shallower level's width).</param>
    /// <param name="prevOutputChannel">Channels of the running features entering the block.</param>
    /// <param name="outChannels">Channels of every residual block's output.</param>
    /// <param name="settings">The residual blocks' shared settings.</param>
    /// <param name="attentionHeadDim">Head width of the attentions (<c>AttnUpBlock2D</c>); null for <c>UpBlock2D</c>.</param>
    /// <param name="upsample">The upsampler: a convolution, a residual block, or none (the last level).</param>
    public UpBlock2D(int numLayers, int inChannels, int prevOutputChannel, int outChannels, ResnetSettings settings, int? attentionHeadDim, ResampleType? upsample)
        : this(numLayers, inChannels, prevOutputChannel, outChannels, settings, DownBlock2D.SelfAttention(settings, attentionHeadDim), upsample)
    {
    }

    /// <summary>Creates the block with the attention <paramref name="attention"/> makes after each residual block.</summary>
    /// <param name="numLayers">Residual blocks (diffusers' <c>layers_per_block + 1</c>).</param>
    /// <param name="inChannels">Channels of the last skip this block takes (the next-shallower level's width).</param>
    /// <param name="prevOutputChannel">Channels of the running features entering the block.</param>
    /// <param name="outChannels">Channels of every residual block's output.</param>
    /// <param name="settings">The residual blocks' shared settings.</param>
    /// <param name="attention">Makes the attention of one layer from its channel count (an <see cref="IBlockAttention"/>
    /// module); null for a block without attention.</param>
    /// <param name="upsample">The upsampler: a convolution, a residual block, or none (the last level).</param>
    public UpBlock2D(int numLayers, int inChannels, int prevOutputChannel, int outChannels, ResnetSettings settings, Func<int, nn.Module>? attention, ResampleType? upsample)
        : base(nameof(UpBlock2D))
    {
        var blocks = new List<ResnetBlock2D>();
        var attends = new List<nn.Module>();
        for (int i = 0; i < numLayers; i++)
        {
            int skipChannels = i == numLayers - 1 ? inChannels : outChannels;
            int resnetIn = i == 0 ? prevOutputChannel : outChannels;
            blocks.Add(settings.Resnet(resnetIn + skipChannels, outChannels));
            if (attention is not null)
            {
                attends.Add(attention(outChannels));
            }
        }

        attentions = attention is null ? null : nn.ModuleList([.. attends]);
        resnets = nn.ModuleList([.. blocks]);
        upsamplers = upsample switch
        {
            ResampleType.Conv => nn.ModuleList<nn.Module>(new Upsample2D(outChannels, useConv: true, outChannels)),
            ResampleType.Resnet => nn.ModuleList<nn.Module>(settings.Resnet(outChannels, outChannels, ResnetResample.Up)),
            _ => null,
        };
        RegisterComponents();
    }

    /// <summary>How many skips the block takes (one per residual block).</summary>
    public int SkipCount => resnets.Count;

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
        for (int i = 0; i < resnets.Count; i++)
        {
            Tensor skip = skips[^1];
            skips.RemoveAt(skips.Count - 1);
            x = resnets[i].call(cat([x, skip], 1), temb);                              // (x, skip) along channels
            if (attentions is not null)
            {
                x = ((IBlockAttention)attentions[i]).Attend(x, context, contextBias);
            }
        }

        if (upsamplers is not null)
        {
            foreach (nn.Module upsampler in upsamplers)
            {
                x = upsampler switch
                {
                    ResnetBlock2D resnet => resnet.call(x, temb),
                    Upsample2D conv => conv.Forward(x, upsampleSize),
                    _ => throw new InvalidOperationException($"unexpected upsampler {upsampler.GetType().Name}."),
                };
            }
        }

        return x;
    }
}
