using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// Multi-head cross-attention from the pixels of a <c>[N, C, H, W]</c> feature map to a sequence of context
/// vectors <c>[N, L, D]</c> (text embeddings), with a pre-norm and a residual:
/// <c>x + to_out(attention(to_q(norm(x)), to_k(context), to_v(context)))</c>.
/// </summary>
/// <remarks>
/// <para>Queries come from the pixels after the book's channel LayerNorm (key <c>norm.g</c>); keys and values from
/// the context (<c>to_k</c>, <c>to_v</c>, no bias, as diffusers' <c>Attention</c>); <c>to_out</c> maps the heads
/// back to C channels. Each head computes <c>softmax(q·kᵀ/√dimHead)·v</c> with
/// <c>scaled_dot_product_attention</c>.</para>
/// <para><c>to_out</c> starts at zero, so a fresh block is the identity: a <see cref="ConditionalUNet"/> loaded with
/// an unconditional book U-Net's weights starts out computing exactly that U-Net, and training opens the
/// block gradually (to_out's gradient is not zero, so it leaves zero at the first step).</para>
/// <para>Every context token is attended to; there is no key mask. CLIP pads a prompt with end-of-text tokens whose
/// states depend only on the prompt (the text transformer is causal), so the padding carries no noise;
/// Stable Diffusion does the same.</para>
/// </remarks>
internal sealed class CrossAttention2d : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ChannelLayerNorm norm;
    private readonly Linear to_q;
    private readonly Linear to_k;
    private readonly Linear to_v;
    private readonly Linear to_out;
    private readonly AttentionHeads heads;

    /// <summary>Creates the block.</summary>
    /// <param name="dim">Channels C of the feature map.</param>
    /// <param name="contextDim">Width D of the context vectors.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="dimHead">Width of each head.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is below 1.</exception>
    public CrossAttention2d(int dim, int contextDim, int heads = 4, int dimHead = 32)
        : base(nameof(CrossAttention2d))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextDim, 1);
        this.heads = new AttentionHeads(heads, dimHead);
        int inner = this.heads.Width;
        norm = new ChannelLayerNorm(dim);
        to_q = nn.Linear(dim, inner, hasBias: false);
        to_k = nn.Linear(contextDim, inner, hasBias: false);
        to_v = nn.Linear(contextDim, inner, hasBias: false);
        to_out = nn.Linear(inner, dim);
        using (no_grad())
        using (NewDisposeScope()) // in-place methods return a new handle to the same tensor
        {
            to_out.weight!.zero_();
            to_out.bias!.zero_();
        }

        ContextDim = contextDim;
        RegisterComponents();
    }

    /// <summary>Width D of the context vectors.</summary>
    public int ContextDim { get; }

    /// <summary>Adds the attended context to every pixel.</summary>
    /// <param name="x">The feature map <c>[N, C, H, W]</c>.</param>
    /// <param name="context">The context <c>[N, L, D]</c>, of the feature map's dtype and device.</param>
    /// <returns>A new tensor <c>[N, C, H, W]</c>; the caller owns it.</returns>
    public override Tensor forward(Tensor x, Tensor context)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        Tensor pixels = norm.call(x).reshape(n, c, h * w).transpose(1, 2);            // [N, HW, C]
        Tensor q = heads.Split(to_q.call(pixels));                                     // [N, heads, HW, d]
        Tensor k = heads.Split(to_k.call(context));                                    // [N, heads, L, d]
        Tensor v = heads.Split(to_v.call(context));                                    // [N, heads, L, d]
        Tensor attended = nn.functional.scaled_dot_product_attention(q, k, v);         // [N, heads, HW, d]
        Tensor merged = heads.Merge(attended);                                         // [N, HW, heads·d]
        Tensor output = to_out.call(merged).transpose(1, 2).reshape(n, c, h, w);       // [N, C, H, W]
        return (x + output).MoveToOuterDisposeScope();
    }
}
