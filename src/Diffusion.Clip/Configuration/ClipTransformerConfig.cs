namespace Diffusion.Clip;

/// <summary>
/// What the text and the vision transformer of a CLIP model share: the shape of their encoder (Hugging Face's
/// <c>hidden_size</c>, <c>intermediate_size</c>, <c>num_attention_heads</c>, <c>num_hidden_layers</c>,
/// <c>hidden_act</c>, <c>layer_norm_eps</c>), property names in PascalCase. <see cref="ClipTextConfig"/> and
/// <see cref="ClipVisionConfig"/> add their embeddings' shape; the defaults are openai/clip-vit-base-patch32's.
/// </summary>
public abstract record ClipTransformerConfig
{
    /// <summary>Sets the defaults that differ between the two sides.</summary>
    /// <param name="hiddenSize">The default <see cref="HiddenSize"/>.</param>
    /// <param name="intermediateSize">The default <see cref="IntermediateSize"/>.</param>
    /// <param name="numAttentionHeads">The default <see cref="NumAttentionHeads"/>.</param>
    private protected ClipTransformerConfig(int hiddenSize, int intermediateSize, int numAttentionHeads)
    {
        HiddenSize = hiddenSize;
        IntermediateSize = intermediateSize;
        NumAttentionHeads = numAttentionHeads;
    }

    /// <summary>Width of the transformer (<c>hidden_size</c>).</summary>
    /// <value>The default value is 512 for the text side, 768 for the vision side.</value>
    public int HiddenSize { get; init; }

    /// <summary>Width of the MLP's hidden layer (<c>intermediate_size</c>).</summary>
    /// <value>The default value is 2048 for the text side, 3072 for the vision side.</value>
    public int IntermediateSize { get; init; }

    /// <summary>Attention heads per layer (<c>num_attention_heads</c>); must divide <see cref="HiddenSize"/>.</summary>
    /// <value>The default value is 8 for the text side, 12 for the vision side.</value>
    public int NumAttentionHeads { get; init; }

    /// <summary>Transformer layers (<c>num_hidden_layers</c>).</summary>
    /// <value>The default value is 12.</value>
    public int NumHiddenLayers { get; init; } = 12;

    /// <summary>MLP activation (<c>hidden_act</c>).</summary>
    /// <value>The default value is <see cref="ClipActivation.QuickGelu"/>.</value>
    public ClipActivation HiddenAct { get; init; } = ClipActivation.QuickGelu;

    /// <summary>Epsilon of every LayerNorm (<c>layer_norm_eps</c>).</summary>
    /// <value>The default value is 1e-5.</value>
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary>The key of this side in a CLIP <c>config.json</c> (<c>text_config</c>, <c>vision_config</c>), which
    /// begins each violation message.</summary>
    private protected abstract string Section { get; }

    /// <summary>Every rule this side breaks: the sizes that must be positive, the heads dividing the width, the rules
    /// of the side's embeddings (<see cref="EmbeddingViolations"/>), a positive epsilon.</summary>
    /// <returns>One message per broken rule, each beginning with the section.</returns>
    internal IEnumerable<string> Violations()
    {
        (string Name, int Value)[] sizes =
        [
            (nameof(HiddenSize), HiddenSize), (nameof(IntermediateSize), IntermediateSize),
            (nameof(NumAttentionHeads), NumAttentionHeads), (nameof(NumHiddenLayers), NumHiddenLayers), .. EmbeddingSizes(),
        ];
        foreach (string v in ClipConfig.PositiveViolations(Section, sizes))
        {
            yield return v;
        }

        if (NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads != 0)
        {
            yield return $"{Section}: HiddenSize ({HiddenSize}) must be a multiple of NumAttentionHeads ({NumAttentionHeads})";
        }

        foreach (string v in EmbeddingViolations())
        {
            yield return $"{Section}: {v}";
        }

        if (!(LayerNormEps > 0))
        {
            yield return $"{Section}: LayerNormEps must be positive; got {LayerNormEps}";
        }
    }

    /// <summary>The side's embedding sizes, each of which must be positive.</summary>
    /// <returns>Name and value of each.</returns>
    private protected abstract IEnumerable<(string Name, int Value)> EmbeddingSizes();

    /// <summary>The side's other rules that its values break (without the section prefix).</summary>
    /// <returns>One message per broken rule.</returns>
    private protected abstract IEnumerable<string> EmbeddingViolations();
}
