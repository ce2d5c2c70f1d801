using TorchSharp.Modules;

namespace Diffusion.Clip.Models;

/// <summary>
/// CLIP's text and image encoders in one shape (Hugging Face <c>CLIPTextTransformer</c> and
/// <c>CLIPVisionTransformer</c>): embeddings, a pre-LayerNorm on the vision side (<c>pre_layrnorm</c>, Hugging Face's
/// spelling), the transformer (<see cref="ClipEncoder"/>), then a LayerNorm: over every position on the text side
/// (<c>final_layer_norm</c>), over the class token on the vision side (<c>post_layernorm</c>, the pooled output).
/// </summary>
/// <remarks>
/// <code>
/// text  (Text):   [B, T] ids    → embeddings → encoder (causal)              → final_layer_norm → [B, T, C]
/// image (Vision): [B, c, S, S]  → embeddings → pre_layrnorm → encoder → [:, 0] → post_layernorm   → [B, C]
/// </code>
/// The LayerNorms a side does not have are null and have no keys. <see cref="Pool"/> takes the text side's state at
/// the end-of-text token.
/// </remarks>
internal sealed class ClipTransformer : nn.Module<Tensor, Tensor>
{
    private readonly ClipEmbeddings embeddings;
    private readonly LayerNorm? pre_layrnorm;
    private readonly ClipEncoder encoder;
    private readonly LayerNorm? final_layer_norm;
    private readonly LayerNorm? post_layernorm;

    /// <summary>Creates the layers in Hugging Face's order (the order the random initialisation runs in).</summary>
    private ClipTransformer(string name, ClipTransformerConfig config, bool initialize, ClipEmbeddings embeddings, bool vision)
        : base(name)
    {
        this.embeddings = embeddings;
        pre_layrnorm = vision ? Norm(config) : null;
        encoder = new ClipEncoder(config, causal: !vision, initialize);
        final_layer_norm = vision ? null : Norm(config);
        post_layernorm = vision ? Norm(config) : null;
        RegisterComponents();
    }

    /// <summary>The text encoder: causal, <c>final_layer_norm</c> over every position.</summary>
    /// <param name="config">A validated text configuration.</param>
    /// <param name="initialize">Whether to initialise the weights as transformers does (false when weights will be loaded).</param>
    /// <returns>The module; it maps ids <c>[B, T]</c> to the last hidden states <c>[B, T, C]</c>.</returns>
    public static ClipTransformer Text(ClipTextConfig config, bool initialize) =>
        new("ClipTextTransformer", config, initialize, ClipEmbeddings.Text(config, initialize), vision: false);

    /// <summary>The image encoder: <c>pre_layrnorm</c>, bidirectional attention, <c>post_layernorm</c> of the class token.</summary>
    /// <param name="config">A validated vision configuration.</param>
    /// <param name="initialize">Whether to initialise the weights as transformers does (false when weights will be loaded).</param>
    /// <returns>The module; it maps normalised pixels <c>[B, channels, S, S]</c> to the pooled output <c>[B, C]</c>.</returns>
    public static ClipTransformer Vision(ClipVisionConfig config, bool initialize) =>
        new("ClipVisionTransformer", config, initialize, ClipEmbeddings.Vision(config, initialize), vision: true);

    /// <summary>Last hidden states <c>[B, T, C]</c> for token ids <c>[B, T]</c> (text), or the pooled output <c>[B, C]</c>
    /// for normalised pixels <c>[B, channels, S, S]</c> (vision).</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor hidden = embeddings.call(input);                     // [B, T, C] (vision: T = 1 + P)
        if (pre_layrnorm is not null)
        {
            hidden = pre_layrnorm.call(hidden);
        }

        hidden = encoder.call(hidden);                              // [B, T, C]
        Tensor output = post_layernorm is not null
            ? post_layernorm.call(hidden.select(1, 0))              // the class token, [B, C]
            : final_layer_norm!.call(hidden);
        return output.MoveToOuterDisposeScope();
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

    private static LayerNorm Norm(ClipTransformerConfig config) => nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
}
