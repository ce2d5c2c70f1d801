namespace Diffusion.Clip;

/// <summary>
/// The text transformer's shape: Hugging Face's <c>CLIPTextConfig</c> (<c>text_config</c> in
/// <c>config.json</c>), property names in PascalCase: the encoder's (<see cref="ClipTransformerConfig"/>) and the
/// token and position embeddings'. Defaults are openai/clip-vit-base-patch32's.
/// </summary>
public sealed record ClipTextConfig : ClipTransformerConfig
{
    /// <summary>Creates the configuration with openai/clip-vit-base-patch32's text transformer: 512 wide, an MLP of
    /// 2048, 8 heads.</summary>
    public ClipTextConfig()
        : base(hiddenSize: 512, intermediateSize: 2048, numAttentionHeads: 8)
    {
    }

    /// <summary>Number of token ids (<c>vocab_size</c>).</summary>
    /// <value>The default value is 49408.</value>
    public int VocabSize { get; init; } = ClipTokenizer.OpenAiVocabularySize;

    /// <summary>Longest token sequence, the tokenizer's context length (<c>max_position_embeddings</c>).</summary>
    /// <value>The default value is 77.</value>
    public int MaxPositionEmbeddings { get; init; } = ClipTokenizer.DefaultContextLength;

    /// <inheritdoc/>
    private protected override string Section => "text_config";

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

    /// <inheritdoc/>
    private protected override IEnumerable<(string Name, int Value)> EmbeddingSizes() =>
        [(nameof(VocabSize), VocabSize), (nameof(MaxPositionEmbeddings), MaxPositionEmbeddings)];

    /// <inheritdoc/>
    private protected override IEnumerable<string> EmbeddingViolations()
    {
        if (MaxPositionEmbeddings is > 0 and < 2)
        {
            yield return $"MaxPositionEmbeddings must be at least 2 (start and end tokens); got {MaxPositionEmbeddings}";
        }
    }
}
