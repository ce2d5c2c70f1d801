using System.Globalization;
using System.Text;
using System.Text.Json;
using Diffusion.Schedulers.Internal;

namespace Diffusion.Models.Internal;

/// <summary>
/// Reads and writes diffusers model <c>config.json</c> files: every field by its snake_case key, enums by
/// diffusers' strings, a wrong type as an <see cref="InvalidDataException"/> naming the key, the expected and the
/// actual value. Python's bare <c>NaN</c>/<c>Infinity</c> literals are accepted.
/// </summary>
internal static partial class ModelConfigJson
{
    /// <summary>The diffusers release whose code this port follows (huggingface/diffusers@58eb52c); written as <c>_diffusers_version</c>.</summary>
    public const string DiffusersVersion = "0.40.0.dev0";

    private static readonly Dictionary<Type, (object Value, string Name)[]> EnumNames = new()
    {
        [typeof(TimeEmbeddingType)] = [(TimeEmbeddingType.Positional, "positional"), (TimeEmbeddingType.Fourier, "fourier"), (TimeEmbeddingType.Learned, "learned")],
        [typeof(ResnetTimeScaleShift)] = [(ResnetTimeScaleShift.Default, "default"), (ResnetTimeScaleShift.ScaleShift, "scale_shift")],
        [typeof(ResampleType)] = [(ResampleType.Conv, "conv"), (ResampleType.Resnet, "resnet")],
        [typeof(ClassEmbedType)] = [(ClassEmbedType.Timestep, "timestep"), (ClassEmbedType.Identity, "identity")],
        [typeof(ActivationFunction)] =
        [
            (ActivationFunction.Silu, "silu"), (ActivationFunction.Swish, "swish"), (ActivationFunction.Mish, "mish"),
            (ActivationFunction.Gelu, "gelu"), (ActivationFunction.Relu, "relu"),
        ],
    };

    public static UNet2DModelConfig ReadUNet2D(string json, ICollection<string>? unknownKeys)
    {
        ArgumentNullException.ThrowIfNull(json);
        using JsonDocument document = Parse(json);
        var c = new UNet2DModelConfig();
        foreach (JsonProperty item in document.RootElement.EnumerateObject())
        {
            string key = item.Name;
            JsonElement v = item.Value;
            switch (key)
            {
                case "sample_size": c = c with { SampleSize = SampleSize(key, v) }; break;
                case "in_channels": c = c with { InChannels = Int(key, v) }; break;
                case "out_channels": c = c with { OutChannels = Int(key, v) }; break;
                case "center_input_sample": c = c with { CenterInputSample = Bool(key, v) }; break;
                case "time_embedding_type": c = c with { TimeEmbeddingType = Enum<TimeEmbeddingType>(key, v) }; break;
                case "time_embedding_dim": c = c with { TimeEmbeddingDim = NullableInt(key, v) }; break;
                case "freq_shift": c = c with { FreqShift = Int(key, v) }; break;
                case "flip_sin_to_cos": c = c with { FlipSinToCos = Bool(key, v) }; break;
                case "down_block_types": c = c with { DownBlockTypes = Strings(key, v) }; break;
                case "mid_block_type": c = c with { MidBlockType = NullableString(key, v) }; break;
                case "up_block_types": c = c with { UpBlockTypes = Strings(key, v) }; break;
                case "block_out_channels": c = c with { BlockOutChannels = Ints(key, v) }; break;
                case "layers_per_block": c = c with { LayersPerBlock = Int(key, v) }; break;
                case "mid_block_scale_factor": c = c with { MidBlockScaleFactor = Double(key, v) }; break;
                case "downsample_padding": c = c with { DownsamplePadding = Int(key, v) }; break;
                case "downsample_type": c = c with { DownsampleType = Enum<ResampleType>(key, v) }; break;
                case "upsample_type": c = c with { UpsampleType = Enum<ResampleType>(key, v) }; break;
                case "dropout": c = c with { Dropout = Double(key, v) }; break;
                case "act_fn": c = c with { ActFn = Enum<ActivationFunction>(key, v) }; break;
                case "attention_head_dim": c = c with { AttentionHeadDim = NullableInt(key, v) }; break;
                case "norm_num_groups": c = c with { NormNumGroups = Int(key, v) }; break;
                case "attn_norm_num_groups": c = c with { AttnNormNumGroups = NullableInt(key, v) }; break;
                case "norm_eps": c = c with { NormEps = Double(key, v) }; break;
                case "resnet_time_scale_shift": c = c with { ResnetTimeScaleShift = Enum<ResnetTimeScaleShift>(key, v) }; break;
                case "add_attention": c = c with { AddAttention = Bool(key, v) }; break;
                case "class_embed_type": c = c with { ClassEmbedType = v.ValueKind == JsonValueKind.Null ? null : Enum<ClassEmbedType>(key, v) }; break;
                case "num_class_embeds": c = c with { NumClassEmbeds = NullableInt(key, v) }; break;
                case "num_train_timesteps": c = c with { NumTrainTimesteps = NullableInt(key, v) }; break;
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

    public static string WriteUNet2D(UNet2DModelConfig c)
    {
        var fields = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["_class_name"] = "UNet2DModel",
            ["_diffusers_version"] = DiffusersVersion,
            ["sample_size"] = c.SampleSize,
            ["in_channels"] = c.InChannels,
            ["out_channels"] = c.OutChannels,
            ["center_input_sample"] = c.CenterInputSample,
            ["time_embedding_type"] = c.TimeEmbeddingType,
            ["time_embedding_dim"] = c.TimeEmbeddingDim,
            ["freq_shift"] = c.FreqShift,
            ["flip_sin_to_cos"] = c.FlipSinToCos,
            ["down_block_types"] = c.DownBlockTypes,
            ["mid_block_type"] = c.MidBlockType,
            ["up_block_types"] = c.UpBlockTypes,
            ["block_out_channels"] = c.BlockOutChannels,
            ["layers_per_block"] = c.LayersPerBlock,
            ["mid_block_scale_factor"] = c.MidBlockScaleFactor,
            ["downsample_padding"] = c.DownsamplePadding,
            ["downsample_type"] = c.DownsampleType,
            ["upsample_type"] = c.UpsampleType,
            ["dropout"] = c.Dropout,
            ["act_fn"] = c.ActFn,
            ["attention_head_dim"] = c.AttentionHeadDim,
            ["norm_num_groups"] = c.NormNumGroups,
            ["attn_norm_num_groups"] = c.AttnNormNumGroups,
            ["norm_eps"] = c.NormEps,
            ["resnet_time_scale_shift"] = c.ResnetTimeScaleShift,
            ["add_attention"] = c.AddAttention,
            ["class_embed_type"] = c.ClassEmbedType,
            ["num_class_embeds"] = c.NumClassEmbeds,
            ["num_train_timesteps"] = c.NumTrainTimesteps,
        };
        return WriteObject(fields);
    }

    /// <summary>The fields as an indented JSON object in key order, with Python's float and enum spellings and a final newline.</summary>
    private static string WriteObject(SortedDictionary<string, object?> fields)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            foreach ((string key, object? value) in fields)
            {
                writer.WritePropertyName(key);
                WriteValue(writer, value);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>One line naming every field and its value, for <c>ToString</c>.</summary>
    public static string Describe(UNet2DModelConfig c) => Describe(WriteUNet2D(c));

    /// <summary>One line naming every field of a written config and its value (metadata keys left out).</summary>
    public static string Describe(string configJson)
    {
        using JsonDocument document = JsonDocument.Parse(configJson);
        return string.Join(", ", document.RootElement.EnumerateObject().Where(p => !p.Name.StartsWith('_')).Select(p => $"{p.Name} = {p.Value.GetRawText()}"));
    }

    private static JsonDocument Parse(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(SchedulerJson.QuoteNonFiniteLiterals(json));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The model config is not valid JSON: {e.Message}", e);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            JsonValueKind kind = document.RootElement.ValueKind;
            document.Dispose();
            throw new InvalidDataException($"The model config must be a JSON object; got {kind}.");
        }

        return document;
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null: writer.WriteNullValue(); break;
            case bool b: writer.WriteBooleanValue(b); break;
            case int i: writer.WriteNumberValue(i); break;
            case double d when double.IsFinite(d) && d == Math.Floor(d) && Math.Abs(d) < 1e15:
                writer.WriteRawValue(((long)d).ToString(CultureInfo.InvariantCulture) + ".0"); // Python writes 1.0, not 1
                break;
            case double d: writer.WriteNumberValue(d); break;
            case string s: writer.WriteStringValue(s); break;
            case Enum e when EnumNames[e.GetType()].FirstOrDefault(n => n.Value.Equals(e)) is { Name: { } name }: writer.WriteStringValue(name); break;
            case Enum e: writer.WriteNumberValue(Convert.ToInt32(e, CultureInfo.InvariantCulture)); break; // undefined: Validate reports it
            case IReadOnlyList<int> ints:
                writer.WriteStartArray();
                foreach (int i in ints)
                {
                    writer.WriteNumberValue(i);
                }

                writer.WriteEndArray();
                break;
            case IReadOnlyList<bool> bools:
                writer.WriteStartArray();
                foreach (bool b in bools)
                {
                    writer.WriteBooleanValue(b);
                }

                writer.WriteEndArray();
                break;
            case IReadOnlyList<IReadOnlyList<int>> nested:
                writer.WriteStartArray();
                foreach (IReadOnlyList<int> inner in nested)
                {
                    WriteValue(writer, inner);
                }

                writer.WriteEndArray();
                break;
            case IReadOnlyList<double> doubles:
                writer.WriteStartArray();
                foreach (double d in doubles)
                {
                    WriteValue(writer, d);
                }

                writer.WriteEndArray();
                break;
            case IReadOnlyList<string> strings:
                writer.WriteStartArray();
                foreach (string s in strings)
                {
                    writer.WriteStringValue(s);
                }

                writer.WriteEndArray();
                break;
            default: throw new InvalidOperationException($"No JSON mapping for {value.GetType()}.");
        }
    }

    private static bool Bool(string key, JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null => false, // diffusers treats None as False for its flags
        _ => throw Wrong(key, "true or false", v),
    };

    private static int Int(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue
            ? (int)d
            : throw Wrong(key, "a whole number", v);

    private static int? NullableInt(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Null ? null : v.ValueKind == JsonValueKind.Number ? Int(key, v) : throw Wrong(key, "a whole number or null", v);

    private static double Double(string key, JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.Number)
        {
            return v.GetDouble();
        }

        return v.ValueKind == JsonValueKind.String && v.GetString() is "NaN" or "Infinity" or "-Infinity"
            ? double.Parse(v.GetString()!, CultureInfo.InvariantCulture)
            : throw Wrong(key, "a number", v);
    }

    private static string? NullableString(string key, JsonElement v) =>
        v.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => v.GetString(),
            _ => throw Wrong(key, "a string or null", v),
        };

    private static IReadOnlyList<string> Strings(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
            ? [.. v.EnumerateArray().Select(e => e.GetString()!)]
            : throw Wrong(key, "an array of strings", v);

    private static IReadOnlyList<int> Ints(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number ? Int(key, e) : throw Wrong(key, "an array of whole numbers", v))]
            : throw Wrong(key, "an array of whole numbers", v);

    private static int? SampleSize(string key, JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.Array)
        {
            IReadOnlyList<int> sides = Ints(key, v);
            return sides.Count == 2 && sides[0] == sides[1]
                ? sides[0]
                : throw Wrong(key, "a whole number, null or [side, side] (this library reads square sample sizes)", v);
        }

        return NullableInt(key, v);
    }

    private static TEnum Enum<TEnum>(string key, JsonElement v)
        where TEnum : struct, Enum
    {
        (object Value, string Name)[] names = EnumNames[typeof(TEnum)];
        if (v.ValueKind == JsonValueKind.String && names.FirstOrDefault(n => n.Name == v.GetString()) is { Name: not null } match)
        {
            return (TEnum)match.Value;
        }

        throw Wrong(key, "one of " + string.Join(", ", names.Select(n => "\"" + n.Name + "\"")), v);
    }

    private static InvalidDataException Wrong(string key, string expected, JsonElement actual)
    {
        string text = actual.GetRawText();
        if (text.Length > 60)
        {
            text = text[..57] + "...";
        }

        return new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"model config key \"{key}\" must be {expected}; got {text} ({actual.ValueKind})."));
    }
}
