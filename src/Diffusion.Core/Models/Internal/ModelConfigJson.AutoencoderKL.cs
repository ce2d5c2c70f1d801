using System.Text.Json;

namespace Diffusion.Models.Internal;

/// <summary>The <c>config.json</c> of diffusers' <c>AutoencoderKL</c>.</summary>
internal static partial class ModelConfigJson
{
    public static AutoencoderKLConfig ReadAutoencoderKL(string json, ICollection<string>? unknownKeys)
    {
        ArgumentNullException.ThrowIfNull(json);
        using JsonDocument document = Parse(json);
        var c = new AutoencoderKLConfig();
        foreach (JsonProperty item in document.RootElement.EnumerateObject())
        {
            string key = item.Name;
            JsonElement v = item.Value;
            switch (key)
            {
                case "in_channels": c = c with { InChannels = Int(key, v) }; break;
                case "out_channels": c = c with { OutChannels = Int(key, v) }; break;
                case "down_block_types": c = c with { DownBlockTypes = Strings(key, v) }; break;
                case "up_block_types": c = c with { UpBlockTypes = Strings(key, v) }; break;
                case "block_out_channels": c = c with { BlockOutChannels = Ints(key, v) }; break;
                case "layers_per_block": c = c with { LayersPerBlock = Int(key, v) }; break;
                case "act_fn": c = c with { ActFn = Enum<ActivationFunction>(key, v) }; break;
                case "latent_channels": c = c with { LatentChannels = Int(key, v) }; break;
                case "norm_num_groups": c = c with { NormNumGroups = Int(key, v) }; break;
                case "sample_size": c = c with { SampleSize = SampleSize(key, v) ?? throw Wrong(key, "a whole number or [side, side]", v) }; break;
                case "scaling_factor": c = c with { ScalingFactor = Double(key, v) }; break;
                case "shift_factor": c = c with { ShiftFactor = v.ValueKind == JsonValueKind.Null ? null : Double(key, v) }; break;
                case "latents_mean": c = c with { LatentsMean = NullableDoubles(key, v) }; break;
                case "latents_std": c = c with { LatentsStd = NullableDoubles(key, v) }; break;
                case "force_upcast": c = c with { ForceUpcast = Bool(key, v) }; break;
                case "use_quant_conv": c = c with { UseQuantConv = Bool(key, v) }; break;
                case "use_post_quant_conv": c = c with { UsePostQuantConv = Bool(key, v) }; break;
                case "mid_block_add_attention": c = c with { MidBlockAddAttention = Bool(key, v) }; break;
                default:
                    if (!key.StartsWith('_'))
                    {
                        unknownKeys?.Add(key);
                    }

                    break;
            }
        }

        return c;
    }

    public static string WriteAutoencoderKL(AutoencoderKLConfig c) => WriteObject(new SortedDictionary<string, object?>(StringComparer.Ordinal)
    {
        ["_class_name"] = "AutoencoderKL",
        ["_diffusers_version"] = DiffusersVersion,
        ["in_channels"] = c.InChannels,
        ["out_channels"] = c.OutChannels,
        ["down_block_types"] = c.DownBlockTypes,
        ["up_block_types"] = c.UpBlockTypes,
        ["block_out_channels"] = c.BlockOutChannels,
        ["layers_per_block"] = c.LayersPerBlock,
        ["act_fn"] = c.ActFn,
        ["latent_channels"] = c.LatentChannels,
        ["norm_num_groups"] = c.NormNumGroups,
        ["sample_size"] = c.SampleSize,
        ["scaling_factor"] = c.ScalingFactor,
        ["shift_factor"] = c.ShiftFactor,
        ["latents_mean"] = c.LatentsMean,
        ["latents_std"] = c.LatentsStd,
        ["force_upcast"] = c.ForceUpcast,
        ["use_quant_conv"] = c.UseQuantConv,
        ["use_post_quant_conv"] = c.UsePostQuantConv,
        ["mid_block_add_attention"] = c.MidBlockAddAttention,
    });

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
