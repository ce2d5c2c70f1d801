using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>DownBlock2D</c>, <c>AttnDownBlock2D</c> and <c>CrossAttnDownBlock2D</c>
/// (<c>src/diffusers/models/unets/unet_2d_blocks.py</c>): <c>numLayers</c> residual blocks, each followed by an
/// attention in the <c>Attn</c> variants (a feature-map self-attention, or a <see cref="Transformer2DModel"/> with
/// cross-attention), then an optional downsampler. Keys: <c>attentions.i.*</c> (attention variants only),
/// <c>resnets.i.*</c>, <c>downsamplers.0.*</c>.
/// </summary>
/// <remarks>Every residual block's (or attention's) output, and the downsampler's, is handed to the up path as a skip.</remarks>
internal sealed class DownBlock2D : nn.Module
{
    private readonly ModuleList<nn.Module>? attentions;
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<nn.Module>? downsamplers;

    /// <summary>Creates the block.</summary>
    /// <param name="numLayers">Residual blocks (diffusers' <c>layers_per_block</c>).</param>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of every residual block's output.</param>
    /// <param name="settings">The residual blocks' shared settings.</param>
    /// <param name="attentionHeadDim">Head width of the attentions (<c>AttnDownBlock2D</c>); null for <c>DownBlock2D</c>.</param>
    /// <param name="downsample">The downsampler: a convolution, a residual block, or none (the last level).</param>
    /// <param name="downsamplePadding">The downsampling convolution's padding.</param>
    public DownBlock2D(int numLayers, int inChannels, int outChannels, ResnetSettings settings, int? attentionHeadDim, ResampleType? downsample, int downsamplePadding)
        : this(numLayers, inChannels, outChannels, settings, SelfAttention(settings, attentionHeadDim), downsample, downsamplePadding)
    {
    }

    /// <summary>Creates the block with the attention <paramref name="attention"/> makes after each residual block.</summary>
    /// <param name="numLayers">Residual blocks (diffusers' <c>layers_per_block</c>).</param>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of every residual block's output.</param>
    /// <param name="settings">The residual blocks' shared settings.</param>
    /// <param name="attention">Makes the attention of one layer from its channel count (an <see cref="IBlockAttention"/>
    /// module); null for a block without attention.</param>
    /// <param name="downsample">The downsampler: a convolution, a residual block, or none (the last level).</param>
    /// <param name="downsamplePadding">The downsampling convolution's padding.</param>
    public DownBlock2D(int numLayers, int inChannels, int outChannels, ResnetSettings settings, Func<int, nn.Module>? attention, ResampleType? downsample, int downsamplePadding)
        : base(nameof(DownBlock2D))
    {
        var blocks = new List<ResnetBlock2D>();
        var attends = new List<nn.Module>();
        for (int i = 0; i < numLayers; i++)
        {
            blocks.Add(settings.Resnet(i == 0 ? inChannels : outChannels, outChannels));
            if (attention is not null)
            {
                attends.Add(attention(outChannels));
            }
        }

        attentions = attention is null ? null : nn.ModuleList([.. attends]);
        resnets = nn.ModuleList([.. blocks]);
        downsamplers = downsample switch
        {
            ResampleType.Conv => nn.ModuleList<nn.Module>(new Downsample2D(outChannels, useConv: true, outChannels, downsamplePadding)),
            ResampleType.Resnet => nn.ModuleList<nn.Module>(settings.Resnet(outChannels, outChannels, ResnetResample.Down)),
            _ => null,
        };
        RegisterComponents();
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
        for (int i = 0; i < resnets.Count; i++)
        {
            x = resnets[i].call(x, temb);                                               // [N, out, H, W]
            if (attentions is not null)
            {
                x = ((IBlockAttention)attentions[i]).Attend(x, context, contextBias);
            }

            skips.Add(x);
        }

        if (downsamplers is not null)
        {
            foreach (nn.Module downsampler in downsamplers)
            {
                x = downsampler switch
                {
                    ResnetBlock2D resnet => resnet.call(x, temb),
                    Downsample2D conv => conv.call(x),
                    _ => throw new InvalidOperationException($"unexpected downsampler {downsampler.GetType().Name}."),
                };
            }

            skips.Add(x);                                                               // [N, out, H/2, W/2]
        }

        return x;
    }

    /// <summary>The feature-map self-attention of <c>AttnDownBlock2D</c> / <c>AttnUpBlock2D</c> with head width
    /// <paramref name="headDim"/>, or null (no attention) when it is null.</summary>
    internal static Func<int, nn.Module>? SelfAttention(ResnetSettings settings, int? headDim) =>
        headDim is { } width ? channels => settings.SpatialAttention(channels, width, settings.Groups) : null;
}
