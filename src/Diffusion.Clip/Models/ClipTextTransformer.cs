using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.Clip.Models;

/// <summary>
/// CLIP's text encoder (Hugging Face <c>CLIPTextTransformer</c>): embeddings, causal pre-LN transformer,
/// final LayerNorm. <see cref="forward"/> gives every position's state; <see cref="Pool"/> takes the
/// state at the end-of-text token.
/// </summary>
internal sealed class ClipTextTransformer : nn.Module<Tensor, Tensor>
{
    private readonly ClipTextEmbeddings embeddings;
    private readonly ClipEncoder encoder;
    private readonly LayerNorm final_layer_norm;

    public ClipTextTransformer(ClipTextConfig config, bool initialize)
        : base(nameof(ClipTextTransformer))
    {
        embeddings = new ClipTextEmbeddings(config, initialize);
        encoder = new ClipEncoder(config.HiddenSize, config.IntermediateSize, config.NumAttentionHeads, config.NumHiddenLayers,
            config.HiddenAct, config.LayerNormEps, causal: true, initialize);
        final_layer_norm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    /// <summary>Last hidden states <c>[B, T, C]</c> for token ids <c>[B, T]</c>.</summary>
    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        Tensor hidden = encoder.call(embeddings.call(inputIds)); // [B, T, C]
        return final_layer_norm.call(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The state at each sequence's end-of-text token, found as the largest id (<c>argmax</c>, as CLIP
    /// and Hugging Face do for the original checkpoints): <c>[B, C]</c>.
    /// </summary>
    public static Tensor Pool(Tensor lastHiddenState, Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        Tensor rows = arange(lastHiddenState.shape[0], dtype: int64, device: lastHiddenState.device); // [B]
        Tensor eot = inputIds.argmax(-1).to(lastHiddenState.device); // [B], first position of the largest id
        return lastHiddenState.index(rows, eot).MoveToOuterDisposeScope(); // [B, C]
    }
}
