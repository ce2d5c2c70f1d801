using System.Text.Json;

namespace Diffusion.Models.Internal;

/// <summary>
/// The config.json of the book's <see cref="UNet"/> and of <see cref="ConditionalUNet"/>: not diffusers classes, so
/// the keys are ours, spelled the diffusers way (the options' names in snake_case) with <c>_class_name</c> naming
/// the class, so one reader can tell every folder this library writes apart.
/// </summary>
internal static partial class ModelConfigJson
{
    /// <summary>The <c>_class_name</c> of a config, or null when it has none.</summary>
    /// <exception cref="InvalidDataException">The text is not a JSON object, or <c>_class_name</c> is not a string.</exception>
    public static string? ClassName(string json)
    {
        using JsonDocument document = Parse(json);
        return document.RootElement.TryGetProperty("_class_name", out JsonElement name) ? NullableString("_class_name", name) : null;
    }

    public static UNetOptions ReadUNet(string json, ICollection<string>? unknownKeys)
    {
        ArgumentNullException.ThrowIfNull(json);
        using JsonDocument document = Parse(json);
        RequireClass(document, nameof(UNet));
        var o = new UNetOptions();
        foreach (JsonProperty item in document.RootElement.EnumerateObject())
        {
            if (!TryReadUNetField(item, ref o) && !item.Name.StartsWith('_'))
            {
                unknownKeys?.Add(item.Name);
            }
        }

        return o;
    }

    public static string WriteUNet(UNetOptions o) => WriteObject(UNetFields(o, nameof(UNet)));

    public static ConditionalUNetOptions ReadConditionalUNet(string json, ICollection<string>? unknownKeys)
    {
        ArgumentNullException.ThrowIfNull(json);
        using JsonDocument document = Parse(json);
        RequireClass(document, nameof(ConditionalUNet));
        var unet = new UNetOptions();
        var c = new ConditionalUNetOptions();
        var levels = CrossAttentionLevels.All;
        foreach (JsonProperty item in document.RootElement.EnumerateObject())
        {
            string key = item.Name;
            JsonElement v = item.Value;
            switch (key)
            {
                case "context_dim": c = c with { ContextDim = NullableInt(key, v) }; break;
                case "num_classes": c = c with { NumClasses = NullableInt(key, v) }; break;
                case "cross_attention_heads": c = c with { CrossAttentionHeads = Int(key, v) }; break;
                case "cross_attention_head_dim": c = c with { CrossAttentionHeadDim = Int(key, v) }; break;
                case "cross_attention_down_levels": levels = levels with { DownLevels = v.ValueKind == JsonValueKind.Null ? null : Ints(key, v) }; break;
                case "cross_attention_middle": levels = levels with { Middle = Bool(key, v) }; break;
                case "cross_attention_up_levels": levels = levels with { UpLevels = v.ValueKind == JsonValueKind.Null ? null : Ints(key, v) }; break;
                default:
                    if (!TryReadUNetField(item, ref unet) && !key.StartsWith('_'))
                    {
                        unknownKeys?.Add(key);
                    }

                    break;
            }
        }

        return c with { UNet = unet, CrossAttentionLevels = levels };
    }

    public static string WriteConditionalUNet(ConditionalUNetOptions c)
    {
        SortedDictionary<string, object?> fields = UNetFields(c.UNet, nameof(ConditionalUNet));
        fields["context_dim"] = c.ContextDim;
        fields["num_classes"] = c.NumClasses;
        fields["cross_attention_heads"] = c.CrossAttentionHeads;
        fields["cross_attention_head_dim"] = c.CrossAttentionHeadDim;
        fields["cross_attention_down_levels"] = c.CrossAttentionLevels.DownLevels;
        fields["cross_attention_middle"] = c.CrossAttentionLevels.Middle;
        fields["cross_attention_up_levels"] = c.CrossAttentionLevels.UpLevels;
        return WriteObject(fields);
    }

    private static bool TryReadUNetField(JsonProperty item, ref UNetOptions o)
    {
        string key = item.Name;
        JsonElement v = item.Value;
        switch (key)
        {
            case "in_channels": o = o with { InChannels = Int(key, v) }; return true;
            case "out_channels": o = o with { OutChannels = Int(key, v) }; return true;
            case "hidden_dims": o = o with { HiddenDims = Ints(key, v) }; return true;
            case "image_size": o = o with { ImageSize = Int(key, v) }; return true;
            case "norm_groups": o = o with { NormGroups = Int(key, v) }; return true;
            case "attention_heads": o = o with { AttentionHeads = Int(key, v) }; return true;
            case "attention_head_dim": o = o with { AttentionHeadDim = Int(key, v) }; return true;
            default: return false;
        }
    }

    private static SortedDictionary<string, object?> UNetFields(UNetOptions o, string className) => new(StringComparer.Ordinal)
    {
        ["_class_name"] = className,
        ["in_channels"] = o.InChannels,
        ["out_channels"] = o.OutChannels,
        ["hidden_dims"] = o.HiddenDims,
        ["image_size"] = o.ImageSize,
        ["norm_groups"] = o.NormGroups,
        ["attention_heads"] = o.AttentionHeads,
        ["attention_head_dim"] = o.AttentionHeadDim,
    };

    private static void RequireClass(JsonDocument document, string expected)
    {
        if (document.RootElement.TryGetProperty("_class_name", out JsonElement name) && NullableString("_class_name", name) is { } actual && actual != expected)
        {
            throw new InvalidDataException($"the config is a {actual}, not a {expected} (\"_class_name\": \"{actual}\"); open it with {actual}.FromPretrained or PretrainedModel.FromPretrained.");
        }
    }
}
