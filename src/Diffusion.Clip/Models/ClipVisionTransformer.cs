using TorchSharp.Modules;

namespace Diffusion.Clip.Models;

/// <summary>
/// CLIP's image encoder (Hugging Face <c>CLIPVisionTransformer</c>): patch and class embeddings,
/// pre-LayerNorm (<c>pre_layrnorm</c>, Hugging Face's spelling), transformer, post-LayerNorm of the
/// class token: <c>[B, C]</c>.
/// </summary>
internal sealed class ClipVisionTransformer : nn.Module<Tensor, Tensor>
{
    private readonly ClipVisionEmbeddings embeddings;
    private readonly LayerNorm pre_layrnorm;
    private readonly ClipEncoder encoder;
    private readonly LayerNorm post_layernorm;

    public ClipVisionTransformer(ClipVisionConfig config, bool initialize)
        : base(nameof(ClipVisionTransformer))
    {
        embeddings = new ClipVisionEmbeddings(config, initialize);
        pre_layrnorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        encoder = new ClipEncoder(config, causal: false, initialize);
        post_layernorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    /// <summary>Pooled output <c>[B, C]</c> for normalised pixels <c>[B, channels, S, S]</c>.</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        Tensor hidden = pre_layrnorm.call(embeddings.call(pixelValues)); // [B, 1 + P, C]
        hidden = encoder.call(hidden); // [B, 1 + P, C]
        Tensor classToken = hidden.select(1, 0); // [B, C]
        return post_layernorm.call(classToken).MoveToOuterDisposeScope();
    }
}
