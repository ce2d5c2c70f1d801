using TorchSharp.Modules;

namespace Diffusion.Clip.Models;

/// <summary>A pre-LayerNorm transformer block (Hugging Face <c>CLIPEncoderLayer</c>): x + attn(ln1(x)), then + mlp(ln2(x)).</summary>
internal sealed class ClipEncoderLayer : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm layer_norm1;
    private readonly ClipAttention self_attn;
    private readonly LayerNorm layer_norm2;
    private readonly ClipMlp mlp;

    public ClipEncoderLayer(ClipTransformerConfig config, bool causal, bool initialize)
        : base(nameof(ClipEncoderLayer))
    {
        layer_norm1 = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        self_attn = new ClipAttention(config, causal, initialize);
        layer_norm2 = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        mlp = new ClipMlp(config, initialize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor h = x + self_attn.call(layer_norm1.call(x)); // [B, T, C]
        return (h + mlp.call(layer_norm2.call(h))).MoveToOuterDisposeScope();
    }
}
