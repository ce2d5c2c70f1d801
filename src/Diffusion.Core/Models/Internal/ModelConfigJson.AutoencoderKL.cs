using System.Text.Json;

namespace Diffusion.Models.Internal;

/// <summary>The <c>config.json</c> of diffusers' <c>AutoencoderKL</c>.</summary>
internal static partial class ModelConfigJson
{
    private static readonly ConfigKey<AutoencoderKLConfig>[] AutoencoderKLKeys = KeysOf<AutoencoderKLConfig>(
        [],
        [new("sample_size", c => c.SampleSize, (c, k, v) => c with { SampleSize = SampleSize(k, v) ?? throw Wrong(k, "a whole number or [side, side]", v) })]);

    public static AutoencoderKLConfig ReadAutoencoderKL(string json, ICollection<string>? unknownKeys) => Read(json, unknownKeys, AutoencoderKLKeys);

    public static string WriteAutoencoderKL(AutoencoderKLConfig c) => Write(c, AutoencoderKLKeys, "AutoencoderKL", diffusersClass: true);

    private static IReadOnlyList<double>? NullableDoubles(string key, JsonElement v) =>
        v.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.Array => [.. v.EnumerateArray().Select(e => e.ValueKind is JsonValueKind.Number or JsonValueKind.String ? Double(key, e) : throw Wrong(key, "an array of numbers or null", v))],
            _ => throw Wrong(key, "an array of numbers or null", v),
        };
}
