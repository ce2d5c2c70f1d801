namespace Diffusion.Clip;

/// <summary>
/// The text transformer's shape: Hugging Face's <c>CLIPTextConfig</c> (<c>text_config</c> in
/// <c>config.json</c>), property names in PascalCase. Defaults are openai/clip-vit-base-patch32's.
/// </summary>
public sealed record ClipTextConfig
{
    /// <summary>Number of token ids (<c>vocab_size</c>).</summary>
    /// <value>The default value is 49408.</value>
    public int VocabSize { get; init; } = 49408;

    /// <summary>Width of the transformer (<c>hidden_size</c>).</summary>
    /// <value>The default value is 512.</value>
    public int HiddenSize { get; init; } = 512;

    /// <summary>Width of the MLP's hidden layer (<c>intermediate_size</c>).</summary>
    /// <value>The default value is 2048.</value>
    public int IntermediateSize { get; init; } = 2048;

    /// <summary>Attention heads per layer (<c>num_attention_heads</c>); must divide <see cref="HiddenSize"/>.</summary>
    /// <value>The default value is 8.</value>
    public int NumAttentionHeads { get; init; } = 8;

    /// <summary>Transformer layers (<c>num_hidden_layers</c>).</summary>
    /// <value>The default value is 12.</value>
    public int NumHiddenLayers { get; init; } = 12;

    /// <summary>Longest token sequence, the tokenizer's context length (<c>max_position_embeddings</c>).</summary>
    /// <value>The default value is 77.</value>
    public int MaxPositionEmbeddings { get; init; } = 77;

    /// <summary>MLP activation (<c>hidden_act</c>).</summary>
    /// <value>The default value is <see cref="ClipActivation.QuickGelu"/>.</value>
    public ClipActivation HiddenAct { get; init; } = ClipActivation.QuickGelu;

    /// <summary>Epsilon of every LayerNorm (<c>layer_norm_eps</c>).</summary>
    /// <value>The default value is 1e-5.</value>
    public double LayerNormEps { get; init; } = 1e-5;

    internal IEnumerable<string> Violations()
    {
        foreach (string v in ClipConfig.PositiveViolations("text_config", (nameof(VocabSize), VocabSize), (nameof(HiddenSize), HiddenSize),
            (nameof(IntermediateSize), IntermediateSize), (nameof(NumAttentionHeads), NumAttentionHeads), (nameof(NumHiddenLayers), NumHiddenLayers),
            (nameof(MaxPositionEmbeddings), MaxPositionEmbeddings)))
        {
            yield return v;
        }

        if (NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads != 0)
        {
            yield return $"text_config: HiddenSize ({HiddenSize}) must be a multiple of NumAttentionHeads ({NumAttentionHeads})";
        }

        if (MaxPositionEmbeddings is > 0 and < 2)
        {
            yield return $"text_config: MaxPositionEmbeddings must be at least 2 (start and end tokens); got {MaxPositionEmbeddings}";
        }

        if (!(LayerNormEps > 0))
        {
            yield return $"text_config: LayerNormEps must be positive; got {LayerNormEps}";
        }
    }

    /// <summary>Throws unless <paramref name="tokenizer"/>'s sequences and ids fit this text side.</summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="parameterName">The caller's parameter, for the exception.</param>
    /// <param name="owner">What precedes the config keys in messages, e.g. "text_config.".</param>
    /// <exception cref="ArgumentException">The context length exceeds <see cref="MaxPositionEmbeddings"/> or the vocabulary <see cref="VocabSize"/>.</exception>
    internal void CheckTokenizer(ClipTokenizer tokenizer, string parameterName, string owner)
    {
        if (tokenizer.ContextLength > MaxPositionEmbeddings)
        {
            throw new ArgumentException(
                $"tokenizer.ContextLength must be at most {owner}max_position_embeddings ({MaxPositionEmbeddings}); got {tokenizer.ContextLength}.", parameterName);
        }

        if (tokenizer.VocabularySize > VocabSize)
        {
            throw new ArgumentException($"tokenizer.VocabularySize must be at most {owner}vocab_size ({VocabSize}); got {tokenizer.VocabularySize}.", parameterName);
        }
    }
}
