using Microsoft.Extensions.Logging;

namespace Diffusion.Data;

/// <summary>Source-generated log messages of Diffusion.Training: the datasets and the loader (1100–1199). The trainer logs through the training engine (Diffusion.Core, Training/Log.cs, 100–199).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Opened image folder {Folder}: {Count} images, {LabelCount} labels, {CaptionCount} captions")]
    public static partial void FolderOpened(ILogger logger, string folder, int count, int labelCount, int captionCount);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "{CaptionsFile}: {Count} caption lines name no image in the folder, e.g. '{Example}'")]
    public static partial void CaptionsWithoutImage(ILogger logger, string captionsFile, int count, string example);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Information, Message = "Opened {ShardCount} parquet shard(s) at {Path}: {Count} images in {RowGroupCount} row groups; labels: {LabelColumn} ({LabelCount} names); captions: {CaptionColumn}")]
    public static partial void ParquetOpened(ILogger logger, string path, int shardCount, int count, int rowGroupCount, string labelColumn, int labelCount, string captionColumn);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Debug, Message = "Read {Shard} row group {RowGroup}: {Rows} images, {Bytes} bytes; {CachedBytes} bytes cached")]
    public static partial void RowGroupRead(ILogger logger, string shard, int rowGroup, int rows, long bytes, long cachedBytes);

    [LoggerMessage(EventId = 1120, Level = LogLevel.Warning, Message = "Skipping item {Index} (epoch {Epoch}): {Reason} Item {Substitute} takes its place.")]
    public static partial void ItemSkipped(ILogger logger, int index, int epoch, string reason, int substitute);

    [LoggerMessage(EventId = 1121, Level = LogLevel.Debug, Message = "Epoch {Epoch}: {Batches} batches of {BatchSize} from {Count} items, from batch {FirstBatch}, {Workers} workers")]
    public static partial void EpochStarted(ILogger logger, int epoch, int batches, int batchSize, int count, int firstBatch, int workers);

    [LoggerMessage(EventId = 1122, Level = LogLevel.Debug, Message = "Epoch {Epoch} ended after {Delivered} batches; the consumer waited {WaitMilliseconds:F1} ms for data")]
    public static partial void EpochEnded(ILogger logger, int epoch, int delivered, double waitMilliseconds);
}
