using Microsoft.Extensions.Logging;

namespace Diffusion;

/// <summary>Source-generated log messages of Diffusion.Training: the trainer (event ids 100–199), the datasets and the loader (1100–1199).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "step {Step}, average loss {AverageLoss:F5}, lr {LearningRate:E2}, {ImagesPerSecond:F1} images/s, data wait {DataWaitSeconds:F1} s")]
    public static partial void TrainingStep(ILogger logger, long step, double averageLoss, double learningRate, double imagesPerSecond, double dataWaitSeconds);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "resumed from {Path} at step {Step} (epoch {Epoch}, batch {Batch})")]
    public static partial void Resumed(ILogger logger, string path, long step, int epoch, int batch);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "saved checkpoint {Path}")]
    public static partial void CheckpointSaved(ILogger logger, string path);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "step {Step}: loss is {Loss}; skipped the step as OnNonFiniteLoss = SkipStep says")]
    public static partial void SkippedNonFiniteStep(ILogger logger, long step, double loss);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "training stopped at step {Step}: {Reason}")]
    public static partial void Stopped(ILogger logger, long step, string reason);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "deleted {Count} temporary checkpoint file(s) in {Directory} left by an interrupted run")]
    public static partial void DeletedTemporaryFiles(ILogger logger, int count, string directory);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "step {Step}: gradient norm is {Norm} (loss {Loss}); skipped the step as OnNonFiniteLoss = SkipStep says")]
    public static partial void SkippedNonFiniteGradient(ILogger logger, long step, double norm, double loss);

    [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "no checkpoint to resume from: continuing the given weights from step {Step} (TrainerOptions.InitialStep); the learning-rate schedule and EMA warm-up go on from there, after {MomentWarmupSteps} steps' worth of batches that only fill AdamW's moments")]
    public static partial void ContinuingFromInitialStep(ILogger logger, long step, int momentWarmupSteps);

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
