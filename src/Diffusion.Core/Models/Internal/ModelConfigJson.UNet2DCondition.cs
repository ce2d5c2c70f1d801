using System.Text.Json;

namespace Diffusion.Models.Internal;

/// <summary>The <c>config.json</c> of diffusers' <c>UNet2DConditionModel</c>.</summary>
internal static partial class ModelConfigJson
{
    // The keys diffusers takes as "a number or one per block" are lists here, written back as a number when they hold one.
    private static readonly ConfigKey<UNet2DConditionModelConfig>[] UNet2DConditionKeys = KeysOf<UNet2DConditionModelConfig>(
        [],
        [
            new("sample_size", c => c.SampleSize, (c, k, v) => c with { SampleSize = SampleSize(k, v) }),
            new("only_cross_attention", c => OneOrAll(c.OnlyCrossAttention), (c, k, v) => c with { OnlyCrossAttention = BoolOrBools(k, v) }),
            new("layers_per_block", c => OneOrAll(c.LayersPerBlock), (c, k, v) => c with { LayersPerBlock = IntOrInts(k, v) }),
            new("cross_attention_dim", c => OneOrAll(c.CrossAttentionDim), (c, k, v) => c with { CrossAttentionDim = IntOrInts(k, v) }),
            new("transformer_layers_per_block", c => OneOrAll(c.TransformerLayersPerBlock), (c, k, v) => c with { TransformerLayersPerBlock = IntOrInts(k, v) }),
            new("attention_head_dim", c => OneOrAll(c.AttentionHeadDim), (c, k, v) => c with { AttentionHeadDim = IntOrInts(k, v) }),
            new("num_attention_heads", c => c.NumAttentionHeads is null ? null : OneOrAll(c.NumAttentionHeads),
                (c, k, v) => c with { NumAttentionHeads = v.ValueKind == JsonValueKind.Null ? null : IntOrInts(k, v) }),
            new("attention_type", c => c.AttentionType, (c, k, v) => c with { AttentionType = NullableString(k, v) ?? "default" }),
        ]);

    public static UNet2DConditionModelConfig ReadUNet2DCondition(string json, ICollection<string>? unknownKeys) => Read(json, unknownKeys, UNet2DConditionKeys);

    public static string WriteUNet2DCondition(UNet2DConditionModelConfig c) => Write(c, UNet2DConditionKeys, "UNet2DConditionModel", diffusersClass: true);

    /// <summary>diffusers' "a number or one per block": a one-entry list is written as the number.</summary>
    private static object? OneOrAll<T>(IReadOnlyList<T> values) => values is { Count: 1 } ? values[0] : values;

    private static IReadOnlyList<int> IntOrInts(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Array ? Ints(key, v) : v.ValueKind == JsonValueKind.Number ? [Int(key, v)] : throw Wrong(key, "a whole number or an array of them", v);

    private static IReadOnlyList<bool> BoolOrBools(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Select(e => e.ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetBoolean() : throw Wrong(key, "true, false or an array of them", v))]
            : [Bool(key, v)];

    private static IReadOnlyList<IReadOnlyList<int>>? NestedInts(string key, JsonElement v) =>
        v.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.Array => [.. v.EnumerateArray().Select(e => IntOrInts(key, e))],
            _ => throw Wrong(key, "null or an array of arrays of whole numbers", v),
        };
}
