using Microsoft.Extensions.Logging;

namespace Diffusion.Data;

/// <summary>Settings of <see cref="ParquetImageDataset.Open"/>.</summary>
public sealed record ParquetImageOptions
{
    /// <summary>
    /// The image column: a struct with a binary <c>bytes</c> field (and usually a string <c>path</c>),
    /// as Hugging Face <c>datasets</c> writes its <c>Image</c> feature, or a plain binary column.
    /// </summary>
    /// <value>The default value is "image".</value>
    public string ImageColumn { get; init; } = "image";

    /// <summary>
    /// An integer label column, used when the shards have it (Hugging Face <c>ClassLabel</c>: int64,
    /// negative for "no label"); <see langword="null"/> to ignore labels.
    /// </summary>
    /// <value>The default value is "label".</value>
    public string? LabelColumn { get; init; } = "label";

    /// <summary>A string caption column (e.g. "text"), which must then exist; <see langword="null"/> for no captions.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? CaptionColumn { get; init; }

    /// <summary>
    /// Names of the labels. When null they come from the shards' Hugging Face metadata (the
    /// <c>ClassLabel</c> names), else they are "0", "1", … up to the largest label.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public IReadOnlyList<string>? LabelNames { get; init; }

    /// <summary>Largest width × height an image may declare; larger ones are refused before decoding.</summary>
    /// <value>The default value is 50,000,000.</value>
    public long MaxPixels { get; init; } = ImageDecoder.DefaultMaxPixels;

    /// <summary>
    /// Encoded image bytes kept in memory. Parquet is read a row group at a time, so the row groups
    /// read are kept (least recently used dropped first) until they take this much; shuffled epochs
    /// then read each row group once. The row group being read is always kept.
    /// </summary>
    /// <value>The default value is 1 GiB (Oxford 102 Flowers is about 0.35 GB encoded).</value>
    public long CacheBytes { get; init; } = 1L << 30;

    /// <summary>Where to log what was opened and each row group read.</summary>
    /// <value>The default value is <see langword="null"/> (no logging).</value>
    public ILoggerFactory? LoggerFactory { get; init; }
}
