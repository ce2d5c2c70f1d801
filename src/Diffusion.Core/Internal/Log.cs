using Microsoft.Extensions.Logging;

namespace Diffusion.Internal;

/// <summary>
/// The source-generated log messages of Diffusion.Core, all in one place so that event ids stay unique: 100–199 the
/// training engine, 300–399 the schedulers, 400–499 the models and their folders, 500–599 the pipelines.
/// </summary>
internal static partial class Log
{
    // The training engine, for Trainer and ClipTrainer alike.
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

    // The schedulers.
    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "scheduler config key \"{Key}\" is not a {ClassName} option; ignored")]
    public static partial void UnknownConfigKey(ILogger logger, string key, string className);

    [LoggerMessage(EventId = 301, Level = LogLevel.Debug, Message = "scheduler config key \"{Key}\" has the default of a diffusers feature this library does not implement; ignored")]
    public static partial void UnimplementedDefaultIgnored(ILogger logger, string key);

    [LoggerMessage(EventId = 302, Level = LogLevel.Debug, Message = "created {ClassName} from a scheduler config with {KeyCount} keys")]
    public static partial void CreatedFromConfig(ILogger logger, string className, int keyCount);

    // The models and their folders.
    [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "{Path}: config key \"{Key}\" is not a {ClassName} field; ignored")]
    public static partial void UnknownModelConfigKey(ILogger logger, string path, string key, string className);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "{Path}: renamed {Count} attention weights from the old names (query, key, value, proj_attn) as diffusers does")]
    public static partial void RenamedDeprecatedAttentionKeys(ILogger logger, string path, int count);

    [LoggerMessage(EventId = 402, Level = LogLevel.Debug, Message = "loaded {ClassName} from {Path} ({Parameters} parameters, {DType})")]
    public static partial void LoadedPretrained(ILogger logger, string className, string path, long parameters, string dtype);

    // The pipelines.
    [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "{Path} is a bare UNet2DModel folder with no scheduler: sampling with a default DDPMScheduler of {Steps} training steps")]
    public static partial void DefaultScheduler(ILogger logger, string path, int steps);

    [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "{Path}: the saved {Saved} is replaced by the {Passed} passed in")]
    public static partial void SchedulerReplaced(ILogger logger, string path, string saved, string passed);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning, Message = "{Path}: component \"{Key}\" is not used by {ClassName}; ignored")]
    public static partial void UnknownComponent(ILogger logger, string path, string key, string className);
}
