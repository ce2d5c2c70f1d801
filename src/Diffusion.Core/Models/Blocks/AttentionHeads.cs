namespace Diffusion.Models.Blocks;

/// <summary>
/// The heads of a multi-head attention: <see cref="Count"/> heads of width <see cref="Dim"/>, whose projections are
/// <see cref="Width"/> = heads · d wide, channel <c>h · d + i</c> being head h's component i. Every attention of the
/// library (<see cref="Attention"/>, <see cref="CrossAttention2d"/>, <see cref="SelfAttention2d"/> and CLIP's) cuts and
/// joins its heads here.
/// </summary>
internal readonly record struct AttentionHeads
{
    /// <summary>Checks and keeps the head count and width.</summary>
    /// <param name="heads">Number of heads.</param>
    /// <param name="dimHead">Width of each head.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is below 1.</exception>
    public AttentionHeads(int heads, int dimHead)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimHead, 1);
        Count = heads;
        Dim = dimHead;
    }

    /// <summary>Number of heads.</summary>
    public int Count { get; }

    /// <summary>Width d of each head.</summary>
    public int Dim { get; }

    /// <summary>Width of the projections: heads · d.</summary>
    public int Width => Count * Dim;

    /// <summary>Cuts a contiguous projection into heads: <c>[N, L, heads·d]</c> → <c>[N, heads, L, d]</c> (a view).</summary>
    /// <param name="t">The projection, contiguous.</param>
    /// <returns>The view; it shares <paramref name="t"/>'s storage.</returns>
    public Tensor Split(Tensor t) => t.view(t.shape[0], t.shape[1], Count, Dim).transpose(1, 2);

    /// <summary>Joins the heads back: <c>[N, heads, L, d]</c> → <c>[N, L, heads·d]</c>.</summary>
    /// <param name="o">Each head's output.</param>
    /// <returns>A new tensor (one copy).</returns>
    public Tensor Merge(Tensor o) => o.transpose(1, 2).reshape(o.shape[0], -1, Width);
}
