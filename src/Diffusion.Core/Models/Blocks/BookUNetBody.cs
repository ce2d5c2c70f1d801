using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// Everything of the book's U-Net after the time embedding — <c>init_conv</c>, <c>down_blocks</c>, <c>mid_block1</c>,
/// <c>mid_attn</c>, <c>mid_block2</c>, <c>up_blocks</c>, <c>out_block</c>, <c>conv_out</c> — built once for
/// <see cref="UNet"/> and <see cref="ConditionalUNet"/> (which adds cross-attention sites and <c>mid_cross_attn</c>).
/// The modules are registered on the owning model under the book's names, so its state-dict keys stay the book's.
/// </summary>
internal sealed class BookUNetBody
{
    private readonly Conv2d initConv;
    private readonly ModuleList<BookUNetLevel> downBlocks;
    private readonly ResidualBlock midBlock1;
    private readonly Residual midAttention;
    private readonly CrossAttention2d? midCrossAttention;
    private readonly ResidualBlock midBlock2;
    private readonly ModuleList<BookUNetLevel> upBlocks;
    private readonly ResidualBlock outBlock;

    /// <summary>Builds the body and registers its modules on <paramref name="owner"/>, in the book's order.</summary>
    /// <param name="owner">The model; its time embedding (and class embedding) must be registered already.</param>
    /// <param name="o">The shape.</param>
    /// <param name="crossAttention">The cross-attention block of a down level (<c>true</c>, level) or up level
    /// (<c>false</c>, level) of the given width, or null for none there.</param>
    /// <param name="middleCrossAttention">The middle's cross-attention for the given width, or null.</param>
    public BookUNetBody(nn.Module owner, UNetOptions o, Func<bool, int, int, CrossAttention2d?> crossAttention, Func<int, CrossAttention2d?> middleCrossAttention)
    {
        IReadOnlyList<int> d = o.HiddenDims;
        int levels = d.Count;
        ResidualBlock Block(int inChannels, int outChannels) => new(inChannels, outChannels, o.TimeEmbeddingDim, o.NormGroups);
        Residual SelfAttention(int dim) => new(new PreNorm(dim, new SelfAttention2d(dim, o.AttentionHeads, o.AttentionHeadDim)));

        initConv = nn.Conv2d(o.InChannels, d[0], 3, padding: 1);
        var down = new BookUNetLevel[levels - 1];
        for (int i = 0; i < levels - 1; i++)
        {
            bool isLast = i == levels - 2;
            int width = d[i];
            nn.Module<Tensor, Tensor> transition = isLast
                ? nn.Conv2d(width, d[i + 1], 3, padding: 1)
                : nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(width * 4, d[i + 1], 1)); // space-to-depth keeps the book's channel order
            down[i] = new BookUNetLevel(Block(width, width), Block(width, width), isLast ? SelfAttention(width) : null, crossAttention(true, i, width), transition);
        }

        downBlocks = nn.ModuleList(down);
        int mid = d[levels - 1];
        midBlock1 = Block(mid, mid);
        midAttention = SelfAttention(mid);
        midCrossAttention = middleCrossAttention(mid);
        midBlock2 = Block(mid, mid);

        var up = new BookUNetLevel[levels - 1];
        int inDim = mid;
        for (int j = 0; j < levels - 1; j++)
        {
            bool isLast = j == levels - 2;
            int skipDim = d[levels - 2 - j];
            nn.Module<Tensor, Tensor> transition = isLast
                ? nn.Conv2d(inDim, skipDim, 3, padding: 1)
                : nn.Sequential(nn.Upsample(scale_factor: [2.0, 2.0], mode: UpsampleMode.Nearest), nn.Conv2d(inDim, skipDim, 3, padding: 1));
            up[j] = new BookUNetLevel(
                Block(inDim + skipDim, inDim), Block(inDim + skipDim, inDim), isLast ? SelfAttention(inDim) : null, crossAttention(false, j, inDim), transition);
            inDim = skipDim;
        }

        upBlocks = nn.ModuleList(up);
        outBlock = Block(d[0] * 2, d[0]);
        ConvOut = nn.Conv2d(d[0], o.OutChannels, 1);

        Layers.Register(
            owner,
            ("init_conv", initConv),
            ("down_blocks", downBlocks),
            ("mid_block1", midBlock1),
            ("mid_attn", midAttention),
            ("mid_cross_attn", midCrossAttention),
            ("mid_block2", midBlock2),
            ("up_blocks", upBlocks),
            ("out_block", outBlock),
            ("conv_out", ConvOut));
    }

    /// <summary>The last layer (its weight tells the model's dtype and device).</summary>
    public Conv2d ConvOut { get; }

    /// <summary>Runs the body on checked inputs.</summary>
    /// <param name="sample">[N, InChannels, H, W].</param>
    /// <param name="temb">The time (and class) embedding, [N, 4·d0].</param>
    /// <param name="context">Text embeddings [N, L, D] in the sample's dtype and device, or null (no cross-attention).</param>
    /// <returns>[N, OutChannels, H, W], in the caller's dispose scope.</returns>
    public Tensor Forward(Tensor sample, Tensor temb, Tensor? context)
    {
        Tensor x = initConv.call(sample);                                                       // [N, d0, H, W]
        Tensor r = x;
        var skips = new Stack<Tensor>();
        foreach (BookUNetLevel level in downBlocks)
        {
            x = level.Block1.call(x, temb);                                                     // [N, d_i, h, w]
            skips.Push(x);
            x = level.Attend(level.Block2.call(x, temb), context);
            skips.Push(x);
            x = level.Sample(x);                                                                // [N, d_{i+1}, h/2, w/2] (last: h, w)
        }

        x = midBlock1.call(x, temb);
        x = midAttention.call(x);
        if (midCrossAttention is not null && context is not null)
        {
            x = midCrossAttention.call(x, context);
        }

        x = midBlock2.call(x, temb);
        foreach (BookUNetLevel level in upBlocks)
        {
            x = level.Block1.call(cat([x, skips.Pop()], 1), temb);                              // (x, skip) along channels
            x = level.Block2.call(cat([x, skips.Pop()], 1), temb);
            x = level.Sample(level.Attend(x, context));                                         // ×2 resolution (last: same)
        }

        x = outBlock.call(cat([x, r], 1), temb);                                                // [N, d0, H, W]
        return ConvOut.call(x);                                                                 // [N, OutChannels, H, W]
    }
}
