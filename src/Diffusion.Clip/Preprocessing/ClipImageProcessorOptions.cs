using System.Text.Json;
using System.Text.Json.Nodes;
using Diffusion.Internal;

namespace Diffusion.Clip;

/// <summary>
/// How images become model input: Hugging Face's <c>CLIPImageProcessor</c> settings
/// (<c>preprocessor_config.json</c>). Defaults are openai/clip-vit-base-patch32's.
/// </summary>
public sealed record ClipImageProcessorOptions
{
    /// <summary>The shorter side is resized (bicubic) to this many pixels, keeping the aspect ratio (<c>size.shortest_edge</c>).</summary>
    /// <value>The default value is 224.</value>
    public int ShortestEdge { get; init; } = 224;

    /// <summary>Side of the square centre crop taken after resizing (<c>crop_size</c>); at most <see cref="ShortestEdge"/>.</summary>
    /// <value>The default value is 224.</value>
    public int CropSize { get; init; } = 224;

    /// <summary>Per-channel mean subtracted from the [0, 1] pixels (<c>image_mean</c>): CLIP's training-set statistics.</summary>
    /// <value>The default value is (0.48145466, 0.4578275, 0.40821073).</value>
    public IReadOnlyList<float> ImageMean { get; init; } = [0.48145466f, 0.4578275f, 0.40821073f];

    /// <summary>Per-channel standard deviation the pixels are divided by (<c>image_std</c>).</summary>
    /// <value>The default value is (0.26862954, 0.26130258, 0.27577711).</value>
    public IReadOnlyList<float> ImageStd { get; init; } = [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>The defaults for a model whose input images are <paramref name="imageSize"/> pixels square.</summary>
    /// <param name="imageSize">The model's <see cref="ClipVisionConfig.ImageSize"/>.</param>
    /// <returns>The options.</returns>
    public static ClipImageProcessorOptions ForImageSize(int imageSize) => new() { ShortestEdge = imageSize, CropSize = imageSize };

    /// <summary>Reads a Hugging Face <c>preprocessor_config.json</c> (<c>size</c>, <c>crop_size</c>, <c>image_mean</c>, <c>image_std</c>; other keys ignored).</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="defaults">Values for keys the file lacks.</param>
    /// <returns>The validated options.</returns>
    /// <exception cref="JsonException">The JSON does not have the expected shape.</exception>
    /// <exception cref="ArgumentException">A value breaks a rule.</exception>
    public static ClipImageProcessorOptions FromJson(string json, ClipImageProcessorOptions defaults)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(defaults);
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;
        ClipImageProcessorOptions options = defaults;
        if (root.TryGetProperty("size", out JsonElement size))
        {
            options = options with
            {
                ShortestEdge = size.ValueKind == JsonValueKind.Number ? size.GetInt32() : size.GetProperty("shortest_edge").GetInt32(),
            };
        }

        if (root.TryGetProperty("crop_size", out JsonElement crop))
        {
            int cropSize = crop.ValueKind == JsonValueKind.Number ? crop.GetInt32() : crop.GetProperty("height").GetInt32();
            if (crop.ValueKind == JsonValueKind.Object && crop.GetProperty("width").GetInt32() != cropSize)
            {
                throw new ArgumentException($"crop_size must be square; got {crop}.");
            }

            options = options with { CropSize = cropSize };
        }

        if (root.TryGetProperty("image_mean", out JsonElement mean))
        {
            options = options with { ImageMean = [.. mean.EnumerateArray().Select(e => e.GetSingle())] };
        }

        if (root.TryGetProperty("image_std", out JsonElement std))
        {
            options = options with { ImageStd = [.. std.EnumerateArray().Select(e => e.GetSingle())] };
        }

        options.Validate();
        return options;
    }

    /// <summary>Writes these options as a Hugging Face <c>preprocessor_config.json</c> for <c>CLIPImageProcessor</c>.</summary>
    /// <returns>Indented JSON.</returns>
    public string ToJson()
    {
        var json = new JsonObject
        {
            ["crop_size"] = new JsonObject { ["height"] = CropSize, ["width"] = CropSize },
            ["do_center_crop"] = true,
            ["do_convert_rgb"] = true,
            ["do_normalize"] = true,
            ["do_rescale"] = true,
            ["do_resize"] = true,
            ["image_mean"] = new JsonArray([.. ImageMean.Select(v => (JsonNode?)v)]),
            ["image_processor_type"] = "CLIPImageProcessor",
            ["image_std"] = new JsonArray([.. ImageStd.Select(v => (JsonNode?)v)]),
            ["resample"] = 3, // PIL bicubic
            ["rescale_factor"] = 1.0 / 255,
            ["size"] = new JsonObject { ["shortest_edge"] = ShortestEdge },
        };
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Checks every rule.</summary>
    /// <exception cref="ArgumentException">A rule is broken; the message lists them all.</exception>
    public void Validate()
    {
        var violations = new List<string>();
        if (ShortestEdge <= 0)
        {
            violations.Add($"ShortestEdge must be positive; got {ShortestEdge}");
        }

        if (CropSize <= 0 || CropSize > ShortestEdge)
        {
            violations.Add($"CropSize must be in 1..ShortestEdge ({ShortestEdge}); got {CropSize}");
        }

        if (ImageMean is not { Count: 3 })
        {
            violations.Add($"ImageMean must hold 3 values; got {ImageMean?.Count ?? 0}");
        }

        if (ImageStd is not { Count: 3 } || ImageStd.Any(s => !(s > 0)))
        {
            violations.Add($"ImageStd must hold 3 positive values; got [{string.Join(", ", ImageStd ?? [])}]");
        }

        OptionsValidation.ThrowIfAny(nameof(ClipImageProcessorOptions), violations);
    }
}
