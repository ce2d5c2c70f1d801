namespace Diffusion.Clip;

/// <summary>
/// The vision transformer's shape: Hugging Face's <c>CLIPVisionConfig</c> (<c>vision_config</c> in
/// <c>config.json</c>), property names in PascalCase. Defaults are openai/clip-vit-base-patch32's.
/// </summary>
public sealed record ClipVisionConfig
{
    /// <summary>Width of the transformer (<c>hidden_size</c>).</summary>
    /// <value>The default value is 768.</value>
    public int HiddenSize { get; init; } = 768;

    /// <summary>Width of the MLP's hidden layer (<c>intermediate_size</c>).</summary>
    /// <value>The default value is 3072.</value>
    public int IntermediateSize { get; init; } = 3072;

    /// <summary>Attention heads per layer (<c>num_attention_heads</c>); must divide <see cref="HiddenSize"/>.</summary>
    /// <value>The default value is 12.</value>
    public int NumAttentionHeads { get; init; } = 12;

    /// <summary>Transformer layers (<c>num_hidden_layers</c>).</summary>
    /// <value>The default value is 12.</value>
    public int NumHiddenLayers { get; init; } = 12;

    /// <summary>Image channels (<c>num_channels</c>).</summary>
    /// <value>The default value is 3.</value>
    public int NumChannels { get; init; } = 3;

    /// <summary>Side of the square input image in pixels (<c>image_size</c>).</summary>
    /// <value>The default value is 224.</value>
    public int ImageSize { get; init; } = 224;

    /// <summary>Side of each square patch (<c>patch_size</c>); must divide <see cref="ImageSize"/>.</summary>
    /// <value>The default value is 32.</value>
    public int PatchSize { get; init; } = 32;

    /// <summary>MLP activation (<c>hidden_act</c>).</summary>
    /// <value>The default value is <see cref="ClipActivation.QuickGelu"/>.</value>
    public ClipActivation HiddenAct { get; init; } = ClipActivation.QuickGelu;

    /// <summary>Epsilon of every LayerNorm (<c>layer_norm_eps</c>).</summary>
    /// <value>The default value is 1e-5.</value>
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary>Patches per image: (<see cref="ImageSize"/> / <see cref="PatchSize"/>)².</summary>
    internal int NumPatches => (ImageSize / PatchSize) * (ImageSize / PatchSize);

    internal IEnumerable<string> Violations()
    {
        foreach (string v in ClipConfig.PositiveViolations("vision_config", (nameof(HiddenSize), HiddenSize), (nameof(IntermediateSize), IntermediateSize),
            (nameof(NumAttentionHeads), NumAttentionHeads), (nameof(NumHiddenLayers), NumHiddenLayers), (nameof(NumChannels), NumChannels),
            (nameof(ImageSize), ImageSize), (nameof(PatchSize), PatchSize)))
        {
            yield return v;
        }

        if (NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads != 0)
        {
            yield return $"vision_config: HiddenSize ({HiddenSize}) must be a multiple of NumAttentionHeads ({NumAttentionHeads})";
        }

        if (PatchSize > 0 && ImageSize % PatchSize != 0)
        {
            yield return $"vision_config: ImageSize ({ImageSize}) must be a multiple of PatchSize ({PatchSize})";
        }

        if (!(LayerNormEps > 0))
        {
            yield return $"vision_config: LayerNormEps must be positive; got {LayerNormEps}";
        }
    }
}
