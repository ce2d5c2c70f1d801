using System.Text.Json;

namespace Diffusion.Models.Internal;

/// <summary>The <c>config.json</c> of diffusers' <c>AutoencoderKL</c>.</summary>
internal static partial class ModelConfigJson
{
    private static readonly ConfigKey<AutoencoderKLConfig>[] AutoencoderKLKeys =
    [
        new("in_channels", c => c.InChannels, (c, k, v) => c with { InChannels = Int(k, v) }),
        new("out_channels", c => c.OutChannels, (c, k, v) => c with { OutChannels = Int(k, v) }),
        new("down_block_types", c => c.DownBlockTypes, (c, k, v) => c with { DownBlockTypes = Strings(k, v) }),
        new("up_block_types", c => c.UpBlockTypes, (c, k, v) => c with { UpBlockTypes = Strings(k, v) }),
        new("block_out_channels", c => c.BlockOutChannels, (c, k, v) => c with { BlockOutChannels = Ints(k, v) }),
        new("layers_per_block", c => c.LayersPerBlock, (c, k, v) => c with { LayersPerBlock = Int(k, v) }),
        new("act_fn", c => c.ActFn, (c, k, v) => c with { ActFn = Enum<ActivationFunction>(k, v) }),
        new("latent_channels", c => c.LatentChannels, (c, k, v) => c with { LatentChannels = Int(k, v) }),
        new("norm_num_groups", c => c.NormNumGroups, (c, k, v) => c with { NormNumGroups = Int(k, v) }),
        new("sample_size", c => c.SampleSize, (c, k, v) => c with { SampleSize = SampleSize(k, v) ?? throw Wrong(k, "a whole number or [side, side]", v) }),
        new("scaling_factor", c => c.ScalingFactor, (c, k, v) => c with { ScalingFactor = Double(k, v) }),
        new("shift_factor", c => c.ShiftFactor, (c, k, v) => c with { ShiftFactor = v.ValueKind == JsonValueKind.Null ? null : Double(k, v) }),
        new("latents_mean", c => c.LatentsMean, (c, k, v) => c with { LatentsMean = NullableDoubles(k, v) }),
        new("latents_std", c => c.LatentsStd, (c, k, v) => c with { LatentsStd = NullableDoubles(k, v) }),
        new("force_upcast", c => c.ForceUpcast, (c, k, v) => c with { ForceUpcast = Bool(k, v) }),
        new("use_quant_conv", c => c.UseQuantConv, (c, k, v) => c with { UseQuantConv = Bool(k, v) }),
        new("use_post_quant_conv", c => c.UsePostQuantConv, (c, k, v) => c with { UsePostQuantConv = Bool(k, v) }),
        new("mid_block_add_attention", c => c.MidBlockAddAttention, (c, k, v) => c with { MidBlockAddAttention = Bool(k, v) }),
    ];

    public static AutoencoderKLConfig ReadAutoencoderKL(string json, ICollection<string>? unknownKeys) => Read(json, unknownKeys, AutoencoderKLKeys);

    public static string WriteAutoencoderKL(AutoencoderKLConfig c) => Write(c, AutoencoderKLKeys, "AutoencoderKL", diffusersClass: true);

    /// <summary>One line naming every field and its value, for <c>ToString</c>.</summary>
    public static string Describe(AutoencoderKLConfig c) => Describe(WriteAutoencoderKL(c));

    private static IReadOnlyList<double>? NullableDoubles(string key, JsonElement v) =>
        v.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.Array => [.. v.EnumerateArray().Select(e => e.ValueKind is JsonValueKind.Number or JsonValueKind.String ? Double(key, e) : throw Wrong(key, "an array of numbers or null", v))],
            _ => throw Wrong(key, "an array of numbers or null", v),
        };
}
