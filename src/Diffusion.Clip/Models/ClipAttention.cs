using Diffusion.Models.Blocks;
using TorchSharp.Modules;

namespace Diffusion.Clip.Models;

/// <summary>Multi-head self-attention with separate q/k/v projections (Hugging Face <c>CLIPAttention</c>), optionally causal.</summary>
internal sealed class ClipAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear out_proj;
    private readonly AttentionHeads heads;
    private readonly bool causal;

    public ClipAttention(ClipTransformerConfig config, bool causal, bool initialize)
        : base(nameof(ClipAttention))
    {
        int width = config.HiddenSize;
        heads = new AttentionHeads(config.NumAttentionHeads, width / config.NumAttentionHeads);
        this.causal = causal;
        q_proj = nn.Linear(width, width);
        k_proj = nn.Linear(width, width);
        v_proj = nn.Linear(width, width);
        out_proj = nn.Linear(width, width);
        if (initialize)
        {
            ClipInit.Normal(q_proj, ClipInit.InProjStd(config));
            ClipInit.Normal(k_proj, ClipInit.InProjStd(config));
            ClipInit.Normal(v_proj, ClipInit.InProjStd(config));
            ClipInit.Normal(out_proj, Math.Pow(width, -0.5));
        }

        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor q = heads.Split(q_proj.call(x)); // [B, heads, T, d]
        Tensor k = heads.Split(k_proj.call(x)); // [B, heads, T, d]
        Tensor v = heads.Split(v_proj.call(x)); // [B, heads, T, d]
        // softmax(q·kᵀ/√d [+ causal mask]) · v, the scaling CLIP uses (head_dim^-0.5).
        Tensor attended = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: causal); // [B, heads, T, d]
        return out_proj.call(heads.Merge(attended)).MoveToOuterDisposeScope(); // [B, T, C]
    }
}
