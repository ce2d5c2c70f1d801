using TorchSharp.Modules;

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
        encoder = new ClipEncoder(config, causal: true, initialize);
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

    /// <summary>Checks token ids against the text side's shape: int64 <c>[N, T]</c>, 1 ≤ T ≤ max_position_embeddings, ids in the vocabulary.</summary>
    /// <exception cref="ArgumentException">They do not fit; the message names <paramref name="name"/>.</exception>
    public static void ValidateIds(Tensor inputIds, ClipTextConfig config, string name)
    {
        ArgumentNullException.ThrowIfNull(inputIds, name);
        long[] shape = inputIds.shape;
        if (shape.Length != 2 || shape[0] < 1 || shape[1] < 1 || shape[1] > config.MaxPositionEmbeddings || inputIds.dtype != ScalarType.Int64)
        {
            throw new ArgumentException(
                $"{name} must be an int64 tensor [N,T] with 1 ≤ T ≤ {config.MaxPositionEmbeddings}; got [{string.Join(',', shape)}] {inputIds.dtype}.", name);
        }

        using var noGrad = no_grad();
        long min = inputIds.min().item<long>(), max = inputIds.max().item<long>();
        if (min < 0 || max >= config.VocabSize)
        {
            throw new ArgumentException($"{name} must hold ids in 0..{config.VocabSize - 1}; got ids from {min} to {max}.", name);
        }
    }
}
