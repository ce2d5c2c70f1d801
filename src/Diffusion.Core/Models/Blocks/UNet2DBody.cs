using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// What diffusers' <c>UNet2DModel</c> and <c>UNet2DConditionModel</c> share around their time embedding: <c>conv_in</c>,
/// the down blocks (each adding its skips), the optional mid block, the up blocks (each taking its skips back) and
/// <c>conv_out(conv_act(conv_norm_out(x)))</c>. The modules are registered on the owning model under diffusers' names
/// and in the order diffusers' <c>named_children()</c> lists them (<c>conv_in</c>, the model's embeddings,
/// <c>down_blocks</c>, <c>up_blocks</c>, <c>mid_block</c>, the output layers: diffusers registers <c>mid_block</c> when
/// it builds it, after the up blocks' list), so the state dict is the reference's key for key; the owner builds the
/// blocks and keeps its embeddings and conditioning.
/// </summary>
internal sealed class UNet2DBody
{
    private readonly Conv2d convIn;
    private readonly ModuleList<DownBlock2D> downBlocks;
    private readonly UNetMidBlock2D? midBlock;
    private readonly ModuleList<UpBlock2D> upBlocks;
    private readonly GroupNorm convNormOut;
    private readonly nn.Module<Tensor, Tensor> convAct;
    private readonly Conv2d convOut;

    /// <summary>Registers the body's modules and the owner's <paramref name="embeddings"/> on <paramref name="owner"/>.</summary>
    /// <param name="owner">The model; it registers nothing itself.</param>
    /// <param name="convIn">The input convolution.</param>
    /// <param name="embeddings">The owner's embedding modules by name, in the reference's order; a null module is not
    /// registered (a model without a class embedding).</param>
    /// <param name="down">The down blocks, outermost first.</param>
    /// <param name="mid">The mid block, or null for none (<c>mid_block_type</c> null).</param>
    /// <param name="up">The up blocks, innermost first.</param>
    /// <param name="normOut">The output group norm.</param>
    /// <param name="actOut">The output activation.</param>
    /// <param name="convOut">The output convolution.</param>
    public UNet2DBody(nn.Module owner, Conv2d convIn, ReadOnlySpan<(string Name, nn.Module? Module)> embeddings,
        DownBlock2D[] down, UNetMidBlock2D? mid, UpBlock2D[] up, GroupNorm normOut, nn.Module<Tensor, Tensor> actOut, Conv2d convOut)
    {
        this.convIn = convIn;
        downBlocks = nn.ModuleList(down);
        midBlock = mid;
        upBlocks = nn.ModuleList(up);
        convNormOut = normOut;
        convAct = actOut;
        this.convOut = convOut;

        Layers.Register(owner, ("conv_in", convIn));
        Layers.Register(owner, embeddings);
        Layers.Register(
            owner,
            ("down_blocks", downBlocks),
            ("up_blocks", upBlocks),
            ("mid_block", midBlock),
            ("conv_norm_out", convNormOut),
            ("conv_act", convAct),
            ("conv_out", convOut));
    }

    /// <summary>
    /// The down blocks' channels, outermost first, as diffusers' U-Nets hand them to <c>get_down_block</c>: block i
    /// takes the previous level's channels (the first, <c>conv_in</c>'s) to its own.
    /// </summary>
    /// <param name="channels"><c>block_out_channels</c>.</param>
    /// <returns>One entry a down block, in <c>down_blocks</c> order.</returns>
    public static IEnumerable<UNetBlockChannels> DownPlan(IReadOnlyList<int> channels)
    {
        for (int i = 0; i < channels.Count; i++)
        {
            yield return new(i, i, i == 0 ? channels[0] : channels[i - 1], channels[i], PrevOutputChannels: 0, i == channels.Count - 1);
        }
    }

    /// <summary>
    /// The up blocks' channels, innermost first, as diffusers' U-Nets hand them to <c>get_up_block</c>: block i works
    /// at level <c>levels − 1 − i</c>, takes the block below's output (the mid block's for the first), and its last
    /// resnet meets the skip of the level above (<c>in_channels</c>).
    /// </summary>
    /// <param name="channels"><c>block_out_channels</c>.</param>
    /// <returns>One entry an up block, in <c>up_blocks</c> order.</returns>
    public static IEnumerable<UNetBlockChannels> UpPlan(IReadOnlyList<int> channels)
    {
        int levels = channels.Count;
        for (int i = 0; i < levels; i++)
        {
            int level = levels - 1 - i;
            yield return new(i, level, channels[Math.Max(level - 1, 0)], channels[level], channels[Math.Min(level + 1, levels - 1)], i == levels - 1);
        }
    }

    /// <summary>
    /// The body's weight shapes that a config's sizes decide, to check a weights file's header against before the model
    /// is built: <c>conv_in</c>, <c>conv_out</c>, each down block's first resnet (from the previous level's channels)
    /// and each block's last resnet (its index is the level's resnet count, its width the level's).
    /// </summary>
    /// <param name="channels"><c>block_out_channels</c>.</param>
    /// <param name="inChannels"><c>in_channels</c>.</param>
    /// <param name="outChannels"><c>out_channels</c>.</param>
    /// <param name="convInKernel"><c>conv_in</c>'s kernel side.</param>
    /// <param name="convOutKernel"><c>conv_out</c>'s kernel side.</param>
    /// <param name="layersPerBlock">A down block's resnet count at a level (an up block has one more).</param>
    /// <returns>Key and shape pairs, a new list the caller may add to.</returns>
    public static List<(string Key, long[] Shape)> ExpectedShapes(
        IReadOnlyList<int> channels, int inChannels, int outChannels, int convInKernel, int convOutKernel, Func<int, int> layersPerBlock)
    {
        var expected = new List<(string Key, long[] Shape)>
        {
            ("conv_in.weight", [channels[0], inChannels, convInKernel, convInKernel]),
            ("conv_out.weight", [outChannels, channels[0], convOutKernel, convOutKernel]),
        };
        foreach (UNetBlockChannels b in DownPlan(channels))
        {
            expected.Add(($"down_blocks.{b.Index}.resnets.0.conv1.weight", [b.OutChannels, b.InChannels, 3, 3]));
            expected.Add(($"down_blocks.{b.Index}.resnets.{layersPerBlock(b.Level) - 1}.conv2.weight", [b.OutChannels, b.OutChannels, 3, 3]));
        }

        foreach (UNetBlockChannels b in UpPlan(channels))
        {
            expected.Add(($"up_blocks.{b.Index}.resnets.{layersPerBlock(b.Level)}.conv2.weight", [b.OutChannels, b.OutChannels, 3, 3]));
        }

        return expected;
    }

    /// <summary>The input convolution's weight: its dtype and device are the model's.</summary>
    public Tensor FirstWeight => convIn.weight!;

    /// <summary>The timesteps on the sample's device as a vector of the batch size (a 0-d or one-element tensor is
    /// used for the whole batch), as diffusers broadcasts them.</summary>
    /// <param name="timestep">A 0-d tensor or a vector of 1 or N elements (checked by the model).</param>
    /// <param name="sample">The batch <c>[N, C, H, W]</c>.</param>
    /// <returns>A tensor <c>[N]</c> in the current dispose scope.</returns>
    public static Tensor BatchTimesteps(Tensor timestep, Tensor sample)
    {
        Tensor t = timestep.to(sample.device);
        return (t.dim() == 0 ? t.unsqueeze(0) : t).expand(new[] { sample.shape[0] });
    }

    /// <summary>Runs <c>conv_in</c>, the down, mid and up blocks and the output layers.</summary>
    /// <param name="sample">The (centred) input <c>[N, C, H, W]</c>.</param>
    /// <param name="emb">The time (and class) embedding <c>[N, temb]</c> in the weights' dtype.</param>
    /// <param name="context">The encoder states for cross-attention, or null.</param>
    /// <param name="contextBias">The additive attention bias of the encoder mask <c>[N, 1, S]</c>, or null.</param>
    /// <returns><c>[N, out_channels, H, W]</c> in the current dispose scope.</returns>
    public Tensor Forward(Tensor sample, Tensor emb, Tensor? context, Tensor? contextBias)
    {
        Tensor x = convIn.call(sample);                                                 // [N, c0, H, W]
        var skips = new List<Tensor> { x };
        foreach (DownBlock2D block in downBlocks)
        {
            x = block.Forward(x, emb, skips, context, contextBias);
        }

        if (midBlock is not null)
        {
            x = context is null ? midBlock.call(x, emb) : midBlock.Forward(x, emb, context, contextBias); // call: hooks see it
        }

        // When H or W is not a multiple of 2^(levels − 1), each upsampler is told the size of the skip it meets next.
        int factor = 1 << (upBlocks.Count - 1);
        bool forwardSize = sample.shape[2] % factor != 0 || sample.shape[3] % factor != 0;
        for (int i = 0; i < upBlocks.Count; i++)
        {
            UpBlock2D block = upBlocks[i];
            long[]? size = forwardSize && i < upBlocks.Count - 1 ? skips[^(block.SkipCount + 1)].shape[2..] : null;
            x = block.Forward(x, skips, emb, context, contextBias, size);
        }

        return convOut.call(convAct.call(convNormOut.call(x)));                         // [N, out_channels, H, W]
    }
}
