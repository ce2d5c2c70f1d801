using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>BasicTransformerBlock</c> (<c>src/diffusers/models/attention.py</c>) as Stable Diffusion's U-Nets
/// build it (<c>norm_type="layer_norm"</c>, <c>activation_fn="geglu"</c>, no attention biases), with its key names.
/// </summary>
/// <remarks>
/// <code>
/// x = attn1(norm1(x)) + x                     // self-attention (cross-attention with only_cross_attention)
/// x = attn2(norm2(x), context, bias) + x      // cross-attention to the encoder states
/// x = ff(norm3(x)) + x                        // GEGLU feed-forward
/// </code>
/// With <c>only_cross_attention</c> the first attention also attends to the encoder states (without the mask, as
/// diffusers passes it only the self-attention mask, which the U-Net never sets).
/// </remarks>
internal sealed class BasicTransformerBlock : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly Attention attn1;
    private readonly LayerNorm norm2;
    private readonly Attention attn2;
    private readonly LayerNorm norm3;
    private readonly FeedForward ff;
    private readonly bool onlyCrossAttention;

    /// <summary>Creates the block.</summary>
    /// <param name="dim">Width of the sequence.</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="headDim">Width of each head.</param>
    /// <param name="crossAttentionDim">Width of the encoder states.</param>
    /// <param name="onlyCrossAttention">Whether the first attention attends to the encoder states too.</param>
    /// <param name="upcastAttention">Whether half-precision attention runs in float32.</param>
    /// <param name="normEps">The LayerNorms' epsilon.</param>
    public BasicTransformerBlock(int dim, int heads, int headDim, int crossAttentionDim, bool onlyCrossAttention, bool upcastAttention, double normEps = 1e-5)
        : base(nameof(BasicTransformerBlock))
    {
        this.onlyCrossAttention = onlyCrossAttention;
        norm1 = nn.LayerNorm(dim, normEps);
        attn1 = new Attention(dim, heads, headDim, onlyCrossAttention ? crossAttentionDim : null, upcastAttention: upcastAttention);
        norm2 = nn.LayerNorm(dim, normEps);
        attn2 = new Attention(dim, heads, headDim, crossAttentionDim, upcastAttention: upcastAttention);
        norm3 = nn.LayerNorm(dim, normEps);
        ff = new FeedForward(dim);
        RegisterComponents();
    }

    /// <summary>Runs the block without a mask.</summary>
    /// <param name="x">A sequence <c>[N, L, dim]</c>.</param>
    /// <param name="context">The encoder states <c>[N, S, crossAttentionDim]</c>.</param>
    /// <returns>A new tensor <c>[N, L, dim]</c>; the caller owns it.</returns>
    public override Tensor forward(Tensor x, Tensor? context) => Forward(x, context, null);

    /// <summary>Runs the block.</summary>
    /// <param name="x">A sequence <c>[N, L, dim]</c>.</param>
    /// <param name="context">The encoder states <c>[N, S, crossAttentionDim]</c>.</param>
    /// <param name="contextBias">The additive bias <c>[N, 1, S]</c> on the cross-attention scores; null for none.</param>
    /// <returns>A new tensor <c>[N, L, dim]</c>; the caller owns it.</returns>
    public Tensor Forward(Tensor x, Tensor? context, Tensor? contextBias)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var scope = NewDisposeScope();
        x = attn1.Forward(norm1.call(x), onlyCrossAttention ? context : null, null).add_(x);   // attention output is fresh: add in place
        x = attn2.Forward(norm2.call(x), context, contextBias).add_(x);
        x = ff.call(norm3.call(x)).add_(x);
        return x.MoveToOuterDisposeScope();
    }
}
