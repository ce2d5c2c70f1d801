using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Diffusion.Internal;
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

    /// <summary>
    /// A config's key table, declared by the record itself: every public settable property of <typeparamref name="T"/> is
    /// the key of its snake_case name (<c>InChannels</c> → <c>in_channels</c>, as the scheduler configs map theirs), read
    /// by the reader its type calls for and written as it is. <paramref name="special"/> declares the keys whose reading or
    /// writing differs (and keys of nested records); it replaces a property's key of the same name.
    /// </summary>
    /// <param name="skipped">Properties that are not keys themselves (nested records whose keys <paramref name="special"/> declares).</param>
    /// <param name="special">The keys that are not read and written by their type alone.</param>
    private static ConfigKey<T>[] KeysOf<T>(string[] skipped, ConfigKey<T>[] special)
    {
        MethodInfo clone = typeof(T).GetMethod("<Clone>$") ?? throw new InvalidOperationException($"{typeof(T).Name} is not a record.");
        return
        [
            .. special,
            .. typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.CanWrite && !skipped.Contains(p.Name) && !special.Any(k => k.Name == SchedulerJson.SnakeCase(p.Name)))
                .Select(p =>
                {
                    Func<string, JsonElement, object?> read = ReaderFor(p);
                    return new ConfigKey<T>(SchedulerJson.SnakeCase(p.Name), c => p.GetValue(c), (c, k, v) =>
                    {
                        object? value = read(k, v);
                        object copy = clone.Invoke(c, null)!; // what `c with { P = value }` does: clone, then set the init property
                        p.SetValue(copy, value);
                        return (T)copy;
                    });
                }),
        ];
    }

    /// <summary>The reader of a property's JSON value, by the property's type.</summary>
    private static Func<string, JsonElement, object?> ReaderFor(PropertyInfo property)
    {
        Type type = property.PropertyType;
        Type? underlying = Nullable.GetUnderlyingType(type);
        Func<string, JsonElement, object?> read = (underlying ?? type) switch
        {
            Type t when t == typeof(int) => underlying is null ? (k, v) => Int(k, v) : (k, v) => NullableInt(k, v),
            Type t when t == typeof(bool) => (k, v) => Bool(k, v),
            Type t when t == typeof(double) => (k, v) => Double(k, v),
            Type t when t == typeof(string) => NullableString, // every string key may be null but attention_type, declared apart
            Type t when t.IsEnum => (k, v) => EnumValue(t, k, v),
            Type t when t == typeof(IReadOnlyList<string>) => Strings,
            Type t when t == typeof(IReadOnlyList<int>) => Ints,
            Type t when t == typeof(IReadOnlyList<bool>) => BoolOrBools,
            Type t when t == typeof(IReadOnlyList<double>) => NullableDoubles,
            Type t when t == typeof(IReadOnlyList<IReadOnlyList<int>>) => NestedInts,
            _ => throw new InvalidOperationException($"No config.json mapping for {property.DeclaringType?.Name}.{property.Name} ({type})."),
        };

        // A nullable value type (int? and the like are handled by their readers) takes JSON null as null.
        return underlying is not null && underlying != typeof(int) ? (k, v) => v.ValueKind == JsonValueKind.Null ? null : read(k, v) : read;
    }

    /// <summary>
    /// Reads a config as <paramref name="keys"/> declare it: each known key sets its field of a default record, keys
    /// starting with "_" are metadata, any other key is added to <paramref name="unknownKeys"/>.
    /// </summary>
    /// <param name="json">The config text.</param>
    /// <param name="unknownKeys">Receives the keys the table does not know; null ignores them.</param>
    /// <param name="keys">The config's key table.</param>
    /// <param name="requiredClass">When set, a <c>_class_name</c> naming another class is refused.</param>
    private static T Read<T>(string json, ICollection<string>? unknownKeys, IReadOnlyList<ConfigKey<T>> keys, string? requiredClass = null)
        where T : new()
    {
        ArgumentNullException.ThrowIfNull(json);
        using JsonDocument document = Parse(json);
        if (requiredClass is not null)
        {
            RequireClass(document, requiredClass);
        }

        var c = new T();
        foreach (JsonProperty item in document.RootElement.EnumerateObject())
        {
            // A linear search: a table has at most a few dozen keys, read once per config.
            if (keys.FirstOrDefault(k => k.Name == item.Name) is { } key)
            {
                c = key.Set(c, item.Name, item.Value);
            }
            else if (!item.Name.StartsWith('_'))
            {
                unknownKeys?.Add(item.Name);
            }
        }

        return c;
    }

    /// <summary>Writes every key of <paramref name="keys"/> with <c>_class_name</c> (and, for diffusers classes,
    /// <c>_diffusers_version</c>), sorted by key as diffusers sorts them.</summary>
    private static string Write<T>(T c, IReadOnlyList<ConfigKey<T>> keys, string className, bool diffusersClass)
    {
        var fields = new SortedDictionary<string, object?>(StringComparer.Ordinal) { ["_class_name"] = className };
        if (diffusersClass)
        {
            fields["_diffusers_version"] = DiffusersVersion;
        }

        foreach (ConfigKey<T> key in keys)
        {
            fields[key.Name] = key.Get(c);
        }

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

    /// <summary>One line naming every field of a written config and its value (metadata keys left out).</summary>
    public static string Describe(string configJson)
    {
        using JsonDocument document = JsonDocument.Parse(configJson);
        return string.Join(", ", document.RootElement.EnumerateObject().Where(p => !p.Name.StartsWith('_')).Select(p => $"{p.Name} = {p.Value.GetRawText()}"));
    }

    private static JsonDocument Parse(string json) => DataFile.ParseObject(SchedulerJson.QuoteNonFiniteLiterals(json), "The model config");

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
        where TEnum : struct, Enum => (TEnum)EnumValue(typeof(TEnum), key, v);

    private static object EnumValue(Type type, string key, JsonElement v)
    {
        (object Value, string Name)[] names = EnumNames[type];
        if (v.ValueKind == JsonValueKind.String && names.FirstOrDefault(n => n.Name == v.GetString()) is { Name: not null } match)
        {
            return match.Value;
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
