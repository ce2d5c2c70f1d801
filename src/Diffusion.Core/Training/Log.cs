using Microsoft.Extensions.Logging;

namespace Diffusion.Training;

/// <summary>Source-generated log messages of the training engine (event ids 100–199), for <c>Trainer</c> and <c>ClipTrainer</c> alike.</summary>
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

    [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "no checkpoint to resume from: continuing the given weights from step {Step} (InitialStep); the learning-rate schedule and EMA warm-up go on from there, after {MomentWarmupSteps} steps' worth of batches that only fill AdamW's moments")]
    public static partial void ContinuingFromInitialStep(ILogger logger, long step, int momentWarmupSteps);
}
