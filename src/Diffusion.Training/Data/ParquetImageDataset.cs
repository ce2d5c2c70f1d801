using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parquet;
using Parquet.Schema;

namespace Diffusion.Data;

/// <summary>
/// Images stored in Apache Parquet shards the way Hugging Face <c>datasets</c> writes them — the book's
/// <c>huggan/flowers-102-categories</c> among them: an <c>image</c> column of structs
/// <c>{bytes: binary, path: string}</c> holding encoded JPEG/PNG files, and optionally an integer
/// <c>label</c> column and a caption column.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Open"/> takes one <c>.parquet</c> file or a folder (searched recursively; shards in ordinal
/// order of their relative paths, so <c>train-00000-of-00002</c> comes first). It reads the footers and
/// the small label and caption columns; the image bytes are read a row group at a time on first use and
/// cached (<see cref="ParquetImageOptions.CacheBytes"/>). Decoding, resizing and centre-cropping happen in
/// <see cref="GetItem"/> exactly as in <see cref="ImageFolderDataset"/>. Thread-safe.
/// </para>
/// </remarks>
public sealed class ParquetImageDataset : IImageDataset
{
    private readonly ParquetShardIndex shardIndex;
    private readonly string?[]? captions;
    private readonly int?[]? labels;
    private readonly RowGroupCache cache;
    private readonly long maxPixels;

    private ParquetImageDataset(int imageSize, ParquetShardIndex index, string?[]? captions, int?[]? labels, IReadOnlyList<string> labelNames, ParquetImageOptions options, ILogger logger)
    {
        ImageSize = imageSize;
        shardIndex = index;
        this.captions = captions;
        this.labels = labels;
        LabelNames = labelNames;
        maxPixels = options.MaxPixels;
        cache = new RowGroupCache(index.ReadImages, options.CacheBytes, logger);
    }

    /// <inheritdoc/>
    public int Count => shardIndex.Count;

    /// <inheritdoc/>
    public int ImageSize { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string> LabelNames { get; }

    /// <summary>The shards, as full paths, in item order.</summary>
    public IReadOnlyList<string> Shards => shardIndex.Shards;

    /// <summary>Opens one parquet shard or every shard under a folder.</summary>
    /// <param name="pathOrFolder">A <c>.parquet</c> file, or a folder searched recursively for them.</param>
    /// <param name="imageSize">Side of the square images returned (8 to 4096).</param>
    /// <param name="options">Column names, label names, limits, cache size, logging; null for the defaults.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="imageSize"/> or an option is out of range.</exception>
    /// <exception cref="FileNotFoundException"><paramref name="pathOrFolder"/> does not exist.</exception>
    /// <exception cref="InvalidDataException">No shards, a shard that is not parquet, a missing or mistyped column, or bad labels; the message names the file.</exception>
    public static ParquetImageDataset Open(string pathOrFolder, int imageSize, ParquetImageOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(pathOrFolder);
        if (imageSize is < 8 or > 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, $"imageSize must be in [8, 4096]; got {imageSize}.");
        }

        options ??= new ParquetImageOptions();
        if (options.MaxPixels < 1 || options.CacheBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"options.MaxPixels must be at least 1 and options.CacheBytes at least 0; got {options.MaxPixels} and {options.CacheBytes}.");
        }

        ILogger logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ParquetImageDataset>();
        string[] shards = FindShards(Path.GetFullPath(pathOrFolder));
        ParquetShardIndex index = ParquetShardIndex.Build(shards, options);
        int?[]? labels = index.HasLabels ? index.Labels : null;
        IReadOnlyList<string> labelNames = labels is null ? [] : LabelNamesFor(labels, options.LabelNames ?? index.HuggingFaceLabelNames, shards[0]);
        Log.ParquetOpened(logger, pathOrFolder, shards.Length, index.Count, index.RowGroupCount, labels is null ? "none" : options.LabelColumn!, labelNames.Count, options.CaptionColumn ?? "none");
        return new ParquetImageDataset(imageSize, index, index.Captions, labels, labelNames, options, logger);
    }

    /// <inheritdoc/>
    /// <remarks>Thread-safe. The image is a new float32 [3, H, W] CPU tensor in [0, 1]; the caller disposes it.</remarks>
    /// <exception cref="InvalidDataException">The row group cannot be read or the image is not valid; the message names shard and row.</exception>
    public ImageItem GetItem(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be in [0, {Count - 1}]; got {index}.");
        }

        (int group, int row, long rowInShard) = shardIndex.Locate(index);
        RowGroupImages images = cache.Get(group);
        string source = $"{images.Shard} row {rowInShard}" + (images.Paths[row] is { Length: > 0 } p ? $" ({p})" : "");
        byte[]? encoded = images.Encoded[row];
        return new ImageItem(ImageDecoder.DecodeToTensor(encoded, ImageSize, maxPixels, source), captions?[index], labels?[index]);
    }

    private static string[] FindShards(string path)
    {
        if (File.Exists(path))
        {
            return [path];
        }

        if (!Directory.Exists(path))
        {
            throw new FileNotFoundException($"Parquet path '{path}' is neither a file nor a folder.", path);
        }

        string[] shards = [.. Directory.EnumerateFiles(path, "*.parquet", SearchOption.AllDirectories)
            .OrderBy(f => CaptionSources.NormalisePath(Path.GetRelativePath(path, f)), StringComparer.Ordinal)];
        return shards.Length > 0 ? shards : throw new InvalidDataException($"Folder '{path}' holds no .parquet files.");
    }

    private static IReadOnlyList<string> LabelNamesFor(int?[] labels, IReadOnlyList<string>? names, string shard)
    {
        int max = labels.Max() ?? -1;
        if (names is null)
        {
            return [.. Enumerable.Range(0, max + 1).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        }

        return max < names.Count
            ? names
            : throw new InvalidDataException($"Label {max} in '{shard}' (or a later shard) has no name: there are {names.Count} label names.");
    }
}
