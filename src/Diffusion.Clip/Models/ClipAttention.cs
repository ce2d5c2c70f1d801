using TorchSharp.Modules;

namespace Diffusion.Clip.Models;

/// <summary>Multi-head self-attention with separate q/k/v projections (Hugging Face <c>CLIPAttention</c>), optionally causal.</summary>
internal sealed class ClipAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear out_proj;
    private readonly int heads;
    private readonly bool causal;

    public ClipAttention(int width, int heads, int layers, bool causal, bool initialize)
        : base(nameof(ClipAttention))
    {
        this.heads = heads;
        this.causal = causal;
        q_proj = nn.Linear(width, width);
        k_proj = nn.Linear(width, width);
        v_proj = nn.Linear(width, width);
        out_proj = nn.Linear(width, width);
        if (initialize)
        {
            // transformers' CLIPPreTrainedModel._init_weights (initializer_factor 1).
            double inStd = Math.Pow(width, -0.5) * Math.Pow(2 * layers, -0.5);
            ClipInit.Normal(q_proj, inStd);
            ClipInit.Normal(k_proj, inStd);
            ClipInit.Normal(v_proj, inStd);
            ClipInit.Normal(out_proj, Math.Pow(width, -0.5));
        }

        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long batch = x.shape[0], tokens = x.shape[1], width = x.shape[2];
        long headDim = width / heads;
        Tensor q = q_proj.call(x).view(batch, tokens, heads, headDim).transpose(1, 2); // [B, heads, T, d]
        Tensor k = k_proj.call(x).view(batch, tokens, heads, headDim).transpose(1, 2); // [B, heads, T, d]
        Tensor v = v_proj.call(x).view(batch, tokens, heads, headDim).transpose(1, 2); // [B, heads, T, d]
        // softmax(q·kᵀ/√d [+ causal mask]) · v, the scaling CLIP uses (head_dim^-0.5).
        Tensor attended = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: causal); // [B, heads, T, d]
        Tensor merged = attended.transpose(1, 2).reshape(batch, tokens, width); // [B, T, C]
        return out_proj.call(merged).MoveToOuterDisposeScope();
    }
}
