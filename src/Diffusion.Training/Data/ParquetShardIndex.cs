using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace Diffusion.Data;

/// <summary>
/// Where each item of a <see cref="ParquetImageDataset"/> lives (shard, row group, row), the columns
/// read up front (labels, captions), and the reading of one row group's image bytes.
/// </summary>
internal sealed class ParquetShardIndex
{
    private readonly ParquetImageOptions options;
    private readonly List<(int Shard, int RowGroup, int Start, long ShardRowStart)> groups = [];

    private ParquetShardIndex(string[] shards, ParquetImageOptions options)
    {
        Shards = shards;
        this.options = options;
    }

    public string[] Shards { get; }

    public int Count { get; private set; }

    public int RowGroupCount => groups.Count;

    public bool HasLabels { get; private set; }

    public int?[] Labels { get; private set; } = [];

    public string?[]? Captions { get; private set; }

    public IReadOnlyList<string>? HuggingFaceLabelNames { get; private set; }

    /// <summary>Reads every shard's footer and its label and caption columns.</summary>
    public static ParquetShardIndex Build(string[] shards, ParquetImageOptions options)
    {
        var index = new ParquetShardIndex(shards, options);
        var labels = new List<int?>();
        var captions = new List<string?>();
        bool? hasLabels = null;
        for (int s = 0; s < shards.Length; s++)
        {
            Guard(shards[s], "read", () => index.ReadShardAsync(s, labels, captions, hasLabels, h => hasLabels = h)).GetAwaiter().GetResult();
        }

        index.HasLabels = hasLabels == true;
        index.Labels = [.. labels];
        index.Captions = options.CaptionColumn is null ? null : [.. captions];
        return index;
    }

    /// <summary>The global row group, row within it, and row within its shard of item <paramref name="item"/>.</summary>
    public (int Group, int Row, long RowInShard) Locate(int item)
    {
        int lo = 0, hi = groups.Count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (groups[mid].Start <= item)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        int row = item - groups[lo].Start;
        return (lo, row, groups[lo].ShardRowStart + row);
    }

    /// <summary>Reads the encoded images (and their paths) of global row group <paramref name="group"/>.</summary>
    public RowGroupImages ReadImages(int group)
    {
        (int shard, int rowGroup, _, _) = groups[group];
        string path = Shards[shard];
        return Guard(path, $"read row group {rowGroup} of", async () =>
        {
            await using ParquetReader reader = await ParquetReader.CreateAsync(path);
            (DataField bytesField, DataField? pathField) = ImageFields(reader.Schema, path);
            ParquetRowGroupReader rows = reader.OpenRowGroupReader(rowGroup);
            var encoded = new byte[]?[checked((int)rows.RowCount)];
            await rows.ReadAsync(bytesField, encoded.AsMemory());
            var paths = new string?[encoded.Length];
            if (pathField is not null)
            {
                await rows.ReadAsync(pathField, paths.AsMemory());
            }

            return new RowGroupImages(path, rowGroup, encoded, paths);
        }).GetAwaiter().GetResult();
    }

    private static async Task<T> Guard<T>(string path, string what, Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is not InvalidDataException and not OutOfMemoryException)
        {
            throw new InvalidDataException($"Cannot {what} parquet file '{path}': {e.Message}", e);
        }
    }

    private static Task Guard(string path, string what, Func<Task> action) =>
        Guard(path, what, async () =>
        {
            await action();
            return true;
        });

    private async Task ReadShardAsync(int shard, List<int?> labels, List<string?> captions, bool? hasLabels, Action<bool> setHasLabels)
    {
        string path = Shards[shard];
        await using ParquetReader reader = await ParquetReader.CreateAsync(path);
        _ = ImageFields(reader.Schema, path);
        DataField? labelField = options.LabelColumn is null ? null : TopLevel(reader.Schema, options.LabelColumn) as DataField;
        if (labelField is not null && labelField.ClrType != typeof(long) && labelField.ClrType != typeof(int))
        {
            throw new InvalidDataException($"Label column '{options.LabelColumn}' of parquet file '{path}' holds {labelField.ClrType.Name}; expected int32 or int64.");
        }

        if (hasLabels is not null && hasLabels != (labelField is not null))
        {
            throw new InvalidDataException($"Parquet file '{path}' {(labelField is null ? "lacks" : "has")} the label column '{options.LabelColumn}' but the shards before it do{(labelField is null ? "" : " not")}.");
        }

        setHasLabels(labelField is not null);
        DataField? captionField = null;
        if (options.CaptionColumn is not null)
        {
            captionField = TopLevel(reader.Schema, options.CaptionColumn) as DataField;
            if (captionField is null || captionField.ClrType != typeof(ReadOnlyMemory<char>) && captionField.ClrType != typeof(string))
            {
                throw new InvalidDataException($"Parquet file '{path}' has no string column '{options.CaptionColumn}' (CaptionColumn); columns: {ColumnNames(reader.Schema)}.");
            }
        }

        if (shard == 0 && labelField is not null)
        {
            HuggingFaceLabelNames = ClassLabelNames(reader.CustomMetadata, options.LabelColumn!);
        }

        long shardRow = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            ParquetRowGroupReader rows = reader.OpenRowGroupReader(g);
            int count = checked((int)rows.RowCount);
            if (count == 0)
            {
                continue;
            }

            groups.Add((shard, g, Count, shardRow));
            Count = checked(Count + count);
            shardRow += count;
            if (labelField is not null)
            {
                labels.AddRange(await ReadLabelsAsync(rows, labelField, count));
            }

            if (captionField is not null)
            {
                var text = new string?[count];
                await rows.ReadAsync(captionField, text.AsMemory());
                captions.AddRange(text);
            }
        }
    }

    private static async Task<int?[]> ReadLabelsAsync(ParquetRowGroupReader rows, DataField field, int count)
    {
        var result = new int?[count];
        if (field.ClrType == typeof(long))
        {
            var values = new long?[count];
            await rows.ReadAsync<long>(field, values.AsMemory());
            for (int i = 0; i < count; i++)
            {
                result[i] = values[i] is >= 0 and <= int.MaxValue ? (int)values[i]!.Value : null;
            }
        }
        else
        {
            var values = new int?[count];
            await rows.ReadAsync<int>(field, values.AsMemory());
            for (int i = 0; i < count; i++)
            {
                result[i] = values[i] is >= 0 ? values[i] : null;
            }
        }

        return result;
    }

    private (DataField Bytes, DataField? Path) ImageFields(ParquetSchema schema, string path)
    {
        Field? column = TopLevel(schema, options.ImageColumn);
        switch (column)
        {
            case StructField s when s.Fields.OfType<DataField>().FirstOrDefault(f => f.Name == "bytes") is { } bytes && IsBinary(bytes):
                return (bytes, s.Fields.OfType<DataField>().FirstOrDefault(f => f.Name == "path"));
            case DataField d when IsBinary(d):
                return (d, null);
            default:
                throw new InvalidDataException($"Parquet file '{path}' has no image column '{options.ImageColumn}' (a struct with a binary 'bytes' field, or a binary column); columns: {ColumnNames(schema)}.");
        }
    }

    private static bool IsBinary(DataField field) => field.ClrType == typeof(ReadOnlyMemory<byte>) || field.ClrType == typeof(byte[]);

    private static Field? TopLevel(ParquetSchema schema, string name) => schema.Fields.FirstOrDefault(f => f.Name == name);

    private static string ColumnNames(ParquetSchema schema) => string.Join(", ", schema.Fields.Select(f => f.Name));

    /// <summary>
    /// The <c>ClassLabel</c> names Hugging Face <c>datasets</c> stores in the file's key-value metadata
    /// under "huggingface": <c>{"info": {"features": {"label": {"names": [...], "_type": "ClassLabel"}}}}</c>.
    /// </summary>
    private static string[]? ClassLabelNames(IReadOnlyDictionary<string, string> metadata, string column)
    {
        if (!metadata.TryGetValue("huggingface", out string? json))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.TryGetProperty("info", out JsonElement info)
                && info.TryGetProperty("features", out JsonElement features)
                && features.ValueKind == JsonValueKind.Object
                && features.TryGetProperty(column, out JsonElement feature)
                && feature.TryGetProperty("names", out JsonElement names)
                && names.ValueKind == JsonValueKind.Array)
            {
                return [.. names.EnumerateArray().Select(n => n.GetString() ?? "")];
            }
        }
        catch (JsonException)
        {
            // Metadata written by something else: fall back to numeric names.
        }

        return null;
    }
}
