namespace Diffusion.Clip;

/// <summary>
/// The vision transformer's shape: Hugging Face's <c>CLIPVisionConfig</c> (<c>vision_config</c> in
/// <c>config.json</c>), property names in PascalCase: the encoder's (<see cref="ClipTransformerConfig"/>) and the
/// patch embedding's. Defaults are openai/clip-vit-base-patch32's.
/// </summary>
public sealed record ClipVisionConfig : ClipTransformerConfig
{
    /// <summary>Creates the configuration with openai/clip-vit-base-patch32's vision transformer: 768 wide, an MLP of
    /// 3072, 12 heads.</summary>
    public ClipVisionConfig()
        : base(hiddenSize: 768, intermediateSize: 3072, numAttentionHeads: 12)
    {
    }

    /// <summary>Image channels (<c>num_channels</c>).</summary>
    /// <value>The default value is 3.</value>
    public int NumChannels { get; init; } = 3;

    /// <summary>Side of the square input image in pixels (<c>image_size</c>).</summary>
    /// <value>The default value is 224.</value>
    public int ImageSize { get; init; } = 224;

    /// <summary>Side of each square patch (<c>patch_size</c>); must divide <see cref="ImageSize"/>.</summary>
    /// <value>The default value is 32.</value>
    public int PatchSize { get; init; } = 32;

    /// <summary>Patches per image: (<see cref="ImageSize"/> / <see cref="PatchSize"/>)².</summary>
    internal int NumPatches => (ImageSize / PatchSize) * (ImageSize / PatchSize);

    /// <inheritdoc/>
    private protected override string Section => "vision_config";

    /// <inheritdoc/>
    private protected override IEnumerable<(string Name, int Value)> EmbeddingSizes() =>
        [(nameof(NumChannels), NumChannels), (nameof(ImageSize), ImageSize), (nameof(PatchSize), PatchSize)];

    /// <inheritdoc/>
    private protected override IEnumerable<string> EmbeddingViolations()
    {
        if (PatchSize > 0 && ImageSize % PatchSize != 0)
        {
            yield return $"ImageSize ({ImageSize}) must be a multiple of PatchSize ({PatchSize})";
        }
    }
}
