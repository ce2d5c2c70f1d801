using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Diffusion.Internal;

namespace Diffusion.Clip;

/// <summary>
/// A CLIP model's architecture: Hugging Face's <c>CLIPConfig</c>, read from and written to the same
/// <c>config.json</c> (snake_case keys; unknown keys are ignored). Defaults are openai/clip-vit-base-patch32's.
/// </summary>
public sealed record ClipConfig
{
    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The text transformer (<c>text_config</c>).</summary>
    /// <value>The default value is openai/clip-vit-base-patch32's text transformer.</value>
    public ClipTextConfig TextConfig { get; init; } = new();

    /// <summary>The vision transformer (<c>vision_config</c>).</summary>
    /// <value>The default value is openai/clip-vit-base-patch32's vision transformer.</value>
    public ClipVisionConfig VisionConfig { get; init; } = new();

    /// <summary>Width of the shared embedding space both projections map to (<c>projection_dim</c>).</summary>
    /// <value>The default value is 512.</value>
    public int ProjectionDim { get; init; } = 512;

    /// <summary>Initial value of the learnable log temperature <c>logit_scale</c> (<c>logit_scale_init_value</c>): ln(1/0.07) rounded as Hugging Face writes it.</summary>
    /// <value>The default value is 2.6592.</value>
    public double LogitScaleInitValue { get; init; } = 2.6592;

    /// <summary>openai/clip-vit-base-patch32: ViT-B/32 at 224 pixels, a 12-layer 512-wide text transformer, 151,277,313 parameters.</summary>
    public static ClipConfig VitBasePatch32 { get; } = new();

    /// <summary>A very small CLIP for tests: two layers of width 32 on each side, 8-pixel patches, 16-wide embeddings.</summary>
    /// <param name="vocabSize">Token ids the text side accepts (the tokenizer's <see cref="ClipTokenizer.VocabularySize"/>).</param>
    /// <param name="imageSize">Side of the input images; a multiple of 8.</param>
    /// <param name="contextLength">Tokens per text (the tokenizer's <see cref="ClipTokenizer.ContextLength"/>).</param>
    /// <returns>The configuration.</returns>
    public static ClipConfig Tiny(int vocabSize = ClipTokenizer.OpenAiVocabularySize, int imageSize = 32, int contextLength = ClipTokenizer.DefaultContextLength) =>
        Symmetric(width: 32, intermediate: 64, heads: 2, textLayers: 2, visionLayers: 2, patchSize: 8, projectionDim: 16, vocabSize, imageSize, contextLength);

    /// <summary>
    /// A small CLIP that learns captioned 32×32 images in minutes on a CPU: a 4-layer 64-wide vision
    /// transformer on 4-pixel patches, a 3-layer 64-wide text transformer, 64-wide embeddings.
    /// </summary>
    /// <param name="vocabSize">Token ids the text side accepts (the tokenizer's <see cref="ClipTokenizer.VocabularySize"/>).</param>
    /// <param name="imageSize">Side of the input images; a multiple of 4.</param>
    /// <param name="contextLength">Tokens per text (the tokenizer's <see cref="ClipTokenizer.ContextLength"/>).</param>
    /// <returns>The configuration.</returns>
    public static ClipConfig Small(int vocabSize, int imageSize = 32, int contextLength = 16) =>
        Symmetric(width: 64, intermediate: 256, heads: 4, textLayers: 3, visionLayers: 4, patchSize: 4, projectionDim: 64, vocabSize, imageSize, contextLength);

    /// <summary>Reads a Hugging Face <c>config.json</c> (also the older layout whose values sit in <c>text_config_dict</c> / <c>vision_config_dict</c>).</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The validated configuration.</returns>
    /// <exception cref="JsonException">The text is not a JSON object of the expected types.</exception>
    /// <exception cref="ArgumentException">The values break a rule (every violation is listed).</exception>
    public static ClipConfig FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonObject root = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("config.json must hold a JSON object.");
        foreach (string side in new[] { "text_config", "vision_config" })
        {
            // Older transformers releases kept the real values in *_config_dict, which then takes precedence.
            if (root[side + "_dict"] is JsonObject overrides)
            {
                if (root[side] is not JsonObject target)
                {
                    target = [];
                    root[side] = target;
                }

                foreach ((string key, JsonNode? value) in overrides)
                {
                    target[key] = value?.DeepClone();
                }
            }
        }

        ClipConfig config = root.Deserialize<ClipConfig>(JsonOptions) ?? throw new JsonException("config.json must hold a JSON object.");
        config = config with { TextConfig = config.TextConfig ?? new(), VisionConfig = config.VisionConfig ?? new() };
        config.Validate();
        return config;
    }

    /// <summary>Reads a <c>config.json</c> file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The validated configuration.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid CLIP configuration; the message names the path.</exception>
    public static ClipConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string json = File.ReadAllText(path);
        try
        {
            return FromJson(json);
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: not a valid CLIP config.json: {e.Message}", e);
        }
    }

    /// <summary>Writes this configuration as a Hugging Face <c>config.json</c> (<c>CLIPModel</c>, <c>model_type</c> clip).</summary>
    /// <returns>Indented JSON.</returns>
    public string ToJson()
    {
        JsonObject root = JsonSerializer.SerializeToNode(this, JsonOptions)!.AsObject();
        root["architectures"] = new JsonArray("CLIPModel");
        root["model_type"] = "clip";
        root["text_config"]!["model_type"] = "clip_text_model";
        root["vision_config"]!["model_type"] = "clip_vision_model";
        return root.ToJsonString(JsonOptions);
    }

    /// <summary>Checks every rule (positive sizes, heads dividing widths, patches dividing the image).</summary>
    /// <exception cref="ArgumentException">At least one rule is broken; the message lists them all.</exception>
    public void Validate()
    {
        var violations = new List<string>();
        if (TextConfig is null || VisionConfig is null)
        {
            violations.Add("TextConfig and VisionConfig must not be null");
        }
        else
        {
            violations.AddRange(TextConfig.Violations());
            violations.AddRange(VisionConfig.Violations());
        }

        violations.AddRange(PositiveViolations("config", (nameof(ProjectionDim), ProjectionDim)));
        if (!double.IsFinite(LogitScaleInitValue))
        {
            violations.Add($"config: LogitScaleInitValue must be finite; got {LogitScaleInitValue}");
        }

        OptionsValidation.ThrowIfAny(nameof(ClipConfig), violations, "config");
    }

    // A CLIP whose two transformers have the same width, MLP and heads (the presets above).
    private static ClipConfig Symmetric(
        int width, int intermediate, int heads, int textLayers, int visionLayers, int patchSize, int projectionDim, int vocabSize, int imageSize, int contextLength) => new()
    {
        TextConfig = new ClipTextConfig
        {
            VocabSize = vocabSize, HiddenSize = width, IntermediateSize = intermediate, NumAttentionHeads = heads, NumHiddenLayers = textLayers,
            MaxPositionEmbeddings = contextLength,
        },
        VisionConfig = new ClipVisionConfig
        {
            HiddenSize = width, IntermediateSize = intermediate, NumAttentionHeads = heads, NumHiddenLayers = visionLayers, ImageSize = imageSize, PatchSize = patchSize,
        },
        ProjectionDim = projectionDim,
    };

    internal static IEnumerable<string> PositiveViolations(string section, params (string Name, int Value)[] values) =>
        values.Where(v => v.Value <= 0).Select(v => $"{section}: {v.Name} must be positive; got {v.Value}");
}
