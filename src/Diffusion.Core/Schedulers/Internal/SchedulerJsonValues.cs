using System.Globalization;
using System.Reflection;
using System.Text.Json;

namespace Diffusion.Schedulers.Internal;

/// <summary>Reads and writes one options property as JSON, with messages naming the key, expected and actual value.</summary>
internal static class SchedulerJsonValues
{
    /// <summary>The .NET value of <paramref name="value"/> for <paramref name="property"/>.</summary>
    /// <exception cref="InvalidDataException">The value has the wrong kind or is not one of the accepted strings.</exception>
    public static object? Read(PropertyInfo property, string key, JsonElement value)
    {
        Type type = property.PropertyType;
        Type? underlying = Nullable.GetUnderlyingType(type);
        bool nullable = underlying is not null || !type.IsValueType;
        Type target = underlying ?? type;

        if (value.ValueKind == JsonValueKind.Null)
        {
            if (nullable)
            {
                return null;
            }

            // diffusers treats None as False for its optional flags.
            return target == typeof(bool) ? false : throw Wrong(key, Describe(target), value);
        }

        if (target == typeof(bool))
        {
            return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : throw Wrong(key, "true or false", value);
        }

        if (target == typeof(int))
        {
            if (IsWholeNumber(value))
            {
                return (int)value.GetDouble();
            }

            throw Wrong(key, "a whole number", value);
        }

        if (target == typeof(double))
        {
            return ReadDouble(key, value);
        }

        if (target.IsEnum && EnumNames.IsKnown(target))
        {
            if (value.ValueKind == JsonValueKind.String && EnumNames.FromName(target, value.GetString()!) is { } parsed)
            {
                return parsed;
            }

            throw Wrong(key, "one of " + EnumNames.Expected(target), value);
        }

        if (type == typeof(IReadOnlyList<double>))
        {
            if (value.ValueKind != JsonValueKind.Array)
            {
                throw Wrong(key, "an array of numbers or null", value);
            }

            return value.EnumerateArray().Select(e => ReadDouble(key, e)).ToArray();
        }

        if (type == typeof(IReadOnlyList<int>))
        {
            if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(e => !IsWholeNumber(e)))
            {
                throw Wrong(key, "an array of whole numbers", value);
            }

            return value.EnumerateArray().Select(e => (int)e.GetDouble()).ToArray();
        }

        throw new InvalidOperationException($"No JSON mapping for {property.DeclaringType?.Name}.{property.Name} ({type}).");
    }

    private static bool IsWholeNumber(JsonElement e) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue;

    /// <summary>
    /// Writes <paramref name="value"/> under <paramref name="key"/>: an enum as diffusers' string, null, a bool, a number,
    /// a string or a list of numbers as System.Text.Json writes it.
    /// </summary>
    public static void Write(Utf8JsonWriter writer, string key, object? value)
    {
        if (value is Enum e)
        {
            writer.WriteString(key, EnumNames.ToName(e.GetType(), e));
            return;
        }

        if (value is not (null or bool or int or double or string or IReadOnlyList<int> or IReadOnlyList<double>))
        {
            throw new InvalidOperationException($"No JSON mapping for {key} ({value.GetType()}).");
        }

        writer.WritePropertyName(key);
        JsonSerializer.Serialize(writer, value, value?.GetType() ?? typeof(object));
    }

    private static double ReadDouble(string key, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            return value.GetDouble();
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            switch (value.GetString())
            {
                case "Infinity":
                    return double.PositiveInfinity;
                case "-Infinity":
                    return double.NegativeInfinity;
                case "NaN":
                    return double.NaN;
            }
        }

        throw Wrong(key, "a number", value);
    }

    private static string Describe(Type t) =>
        t == typeof(int) ? "a whole number" : t == typeof(double) ? "a number" : t.IsEnum && EnumNames.IsKnown(t) ? "one of " + EnumNames.Expected(t) : t.Name;

    private static InvalidDataException Wrong(string key, string expected, JsonElement actual)
    {
        string text = actual.GetRawText();
        if (text.Length > 60)
        {
            text = text[..57] + "...";
        }

        return new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"scheduler config key \"{key}\" must be {expected}; got {text}."));
    }
}
