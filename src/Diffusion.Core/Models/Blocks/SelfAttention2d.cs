using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// Multi-head softmax self-attention over the pixels of a <c>[N, C, H, W]</c> feature map: the book's
/// <c>Attention</c> (markhliu/DGAI <c>utils/ch15util.py</c>), computed with
/// <c>scaled_dot_product_attention</c>.
/// </summary>
/// <remarks>
/// <c>to_qkv</c> (1×1 convolution, no bias) makes queries, keys and values of <c>heads · dimHead</c>
/// channels each; channel <c>h · dimHead + d</c> is head h's component d. Each head attends over the
/// H·W pixels with <c>softmax(q·kᵀ / √dimHead)·v</c>, and <c>to_out</c> (1×1 convolution) maps the
/// heads back to C channels. The fused kernel gives the book's numbers to float32 rounding without
/// keeping the <c>[N, heads, HW, HW]</c> score matrix for the backward pass.
/// </remarks>
internal sealed class SelfAttention2d : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d to_qkv;
    private readonly Conv2d to_out;
    private readonly AttentionHeads heads;

    /// <summary>Creates the attention for <paramref name="dim"/> input channels.</summary>
    /// <param name="dim">The channel count C of the input and output.</param>
    /// <param name="heads">The number of heads (the book: 4).</param>
    /// <param name="dimHead">The width of each head (the book: 32).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is below 1.</exception>
    public SelfAttention2d(int dim, int heads = 4, int dimHead = 32)
        : base(nameof(SelfAttention2d))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        this.heads = new AttentionHeads(heads, dimHead);
        int hidden = this.heads.Width;
        to_qkv = nn.Conv2d(dim, hidden * 3, 1, bias: false);
        to_out = nn.Conv2d(hidden, dim, 1);
        RegisterComponents();
    }

    /// <summary>Attends over the pixels of <paramref name="x"/>.</summary>
    /// <param name="x">The input, <c>[N, C, H, W]</c>.</param>
    /// <returns>A new tensor <c>[N, C, H, W]</c>; the caller owns it.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0], h = x.shape[2], w = x.shape[3];

        // One copy puts each head's d components last and contiguous. Views of the conv output would have
        // stride HW along d, and libtorch's CPU attention kernel is then 4-6× slower (docs/performance.md).
        Tensor qkv = to_qkv.call(x)                                                 // [N, 3·heads·d, H, W]
            .reshape(n, 3, heads.Count, heads.Dim, h * w)                           // [N, 3, heads, d, HW]
            .permute(1, 0, 2, 4, 3)                                                 // [3, N, heads, HW, d]
            .contiguous();
        Tensor attended = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]); // [N, heads, HW, d]
        Tensor merged = attended.transpose(2, 3).reshape(n, heads.Width, h, w);     // [N, heads·d, H, W]
        return to_out.call(merged).MoveToOuterDisposeScope();
    }
}
