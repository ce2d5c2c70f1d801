using System.Text.Json;

namespace Diffusion.IO;

/// <summary>Parses and validates a safetensors JSON header before any tensor is allocated.</summary>
internal static class SafeTensorsHeaderParser
{
    private const int MaxRank = 32;

    public static SafeTensorsHeader Parse(byte[] json, string path, long dataStart, long dataLength)
    {
        // JsonDocument checks UTF-8 only when a string is read, and then throws InvalidOperationException.
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            throw Invalid(path, "the header is not valid UTF-8");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the safetensors header is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(path, $"the header must be a JSON object; got {document.RootElement.ValueKind}");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<SafeTensorsEntry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                {
                    throw Invalid(path, $"'{property.Name}' appears twice");
                }

                if (property.Name == "__metadata__")
                {
                    ReadMetadata(property.Value, metadata, path);
                }
                else
                {
                    entries.Add(ReadEntry(property, path));
                }
            }

            entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
            CheckLayout(entries, dataLength, path);
            return new SafeTensorsHeader(entries, metadata, dataStart);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path, "__metadata__ must be an object of strings");
        }

        foreach (JsonProperty item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw Invalid(path, $"__metadata__['{item.Name}'] must be a string; got {item.Value.ValueKind}");
            }

            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static SafeTensorsEntry ReadEntry(JsonProperty property, string path)
    {
        string name = property.Name;
        JsonElement value = property.Value;
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out JsonElement dtype) || dtype.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out JsonElement shape) || shape.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out JsonElement offsets) || offsets.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(path, $"tensor '{name}' must have a string 'dtype', an array 'shape' and an array 'data_offsets'");
        }

        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty field in value.EnumerateObject())
        {
            if (!fields.Add(field.Name))
            {
                throw Invalid(path, $"tensor '{name}' has the field '{field.Name}' twice");
            }
        }

        if (!SafeTensorsDType.TryParse(dtype.GetString()!, out var type))
        {
            throw Invalid(path, $"tensor '{name}' has unknown dtype '{dtype.GetString()}'");
        }

        if (shape.GetArrayLength() > MaxRank)
        {
            throw Invalid(path, $"tensor '{name}' has rank {shape.GetArrayLength()}, more than {MaxRank}");
        }

        var dims = new List<long>();
        long elements = 1;
        foreach (JsonElement dim in shape.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long d) || d < 0)
            {
                throw Invalid(path, $"tensor '{name}' has a shape entry that is not a non-negative integer: {dim.GetRawText()}");
            }

            dims.Add(d);
            try
            {
                elements = checked(elements * d);
            }
            catch (OverflowException)
            {
                throw Invalid(path, $"tensor '{name}' has shape [{string.Join(',', dims)}…] whose element count overflows");
            }
        }

        if (offsets.GetArrayLength() != 2
            || offsets[0].ValueKind != JsonValueKind.Number || offsets[1].ValueKind != JsonValueKind.Number
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin)
        {
            throw Invalid(path, $"tensor '{name}' must have data_offsets [begin, end] with 0 <= begin <= end; got {offsets.GetRawText()}");
        }

        long expected;
        try
        {
            expected = checked(elements * SafeTensorsDType.ElementSize(type));
        }
        catch (OverflowException)
        {
            throw Invalid(path, $"tensor '{name}' is too large");
        }

        if (end - begin != expected)
        {
            throw Invalid(path, $"tensor '{name}' has shape [{string.Join(',', dims)}] of {type} ({expected} bytes) but data_offsets span {end - begin} bytes");
        }

        return new SafeTensorsEntry(name, type, dims, begin, end);
    }

    // The data section must be covered exactly: no overlaps, no holes, nothing past the end.
    private static void CheckLayout(List<SafeTensorsEntry> entries, long dataLength, string path)
    {
        long position = 0;
        foreach (SafeTensorsEntry entry in entries)
        {
            if (entry.Begin != position)
            {
                throw Invalid(path, entry.Begin < position
                    ? $"tensor '{entry.Name}' overlaps the previous tensor (begins at {entry.Begin}, previous ends at {position})"
                    : $"tensor '{entry.Name}' begins at {entry.Begin}, leaving a hole after byte {position}");
            }

            position = entry.End;
        }

        if (position != dataLength)
        {
            throw Invalid(path, $"the tensors cover {position} bytes of data but the file holds {dataLength}");
        }
    }

    private static InvalidDataException Invalid(string path, string what) => new($"{path}: invalid safetensors header: {what}.");
}
