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

    private static readonly ConfigKey<UNetOptions>[] UNetKeys = KeysOf<UNetOptions>([], []);

    // The book U-Net's keys (for the nested UNet options), the cross-attention sites', then the conditioning's own
    // properties. Declared after UNetKeys, which it reads when initialised.
    private static readonly ConfigKey<ConditionalUNetOptions>[] ConditionalUNetKeys = KeysOf<ConditionalUNetOptions>(
        [nameof(ConditionalUNetOptions.UNet), nameof(ConditionalUNetOptions.CrossAttentionLevels)],
        [
            .. UNetKeys.Select(key => new ConfigKey<ConditionalUNetOptions>(key.Name, c => key.Get(c.UNet), (c, k, v) => c with { UNet = key.Set(c.UNet, k, v) })),
            new("cross_attention_down_levels", c => c.CrossAttentionLevels.DownLevels,
                (c, k, v) => c with { CrossAttentionLevels = c.CrossAttentionLevels with { DownLevels = v.ValueKind == JsonValueKind.Null ? null : Ints(k, v) } }),
            new("cross_attention_middle", c => c.CrossAttentionLevels.Middle,
                (c, k, v) => c with { CrossAttentionLevels = c.CrossAttentionLevels with { Middle = Bool(k, v) } }),
            new("cross_attention_up_levels", c => c.CrossAttentionLevels.UpLevels,
                (c, k, v) => c with { CrossAttentionLevels = c.CrossAttentionLevels with { UpLevels = v.ValueKind == JsonValueKind.Null ? null : Ints(k, v) } }),
        ]);

    public static UNetOptions ReadUNet(string json, ICollection<string>? unknownKeys) => Read(json, unknownKeys, UNetKeys, requiredClass: nameof(UNet));

    public static string WriteUNet(UNetOptions o) => Write(o, UNetKeys, nameof(UNet), diffusersClass: false);

    public static ConditionalUNetOptions ReadConditionalUNet(string json, ICollection<string>? unknownKeys) =>
        Read(json, unknownKeys, ConditionalUNetKeys, requiredClass: nameof(ConditionalUNet));

    public static string WriteConditionalUNet(ConditionalUNetOptions c) => Write(c, ConditionalUNetKeys, nameof(ConditionalUNet), diffusersClass: false);

    private static void RequireClass(JsonDocument document, string expected)
    {
        if (document.RootElement.TryGetProperty("_class_name", out JsonElement name) && NullableString("_class_name", name) is { } actual && actual != expected)
        {
            throw new InvalidDataException($"the config is a {actual}, not a {expected} (\"_class_name\": \"{actual}\"); open it with {actual}.FromPretrained or PretrainedModel.FromPretrained.");
        }
    }
}
