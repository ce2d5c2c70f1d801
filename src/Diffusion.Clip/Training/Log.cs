using Microsoft.Extensions.Logging;

namespace Diffusion.Clip;

/// <summary>Source-generated log messages of Diffusion.Clip.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "CLIP training: {Steps} steps from step {StartStep}, batch {BatchSize}, {Pairs} pairs, {Parameters} parameters, loss {Loss}")]
    public static partial void TrainingStarted(ILogger logger, int steps, int startStep, int batchSize, int pairs, long parameters, ClipLossKind loss);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "step {Step}/{TotalSteps}: loss {Loss:F4}, lr {LearningRate:E2}, logit scale {LogitScale:F2}, {StepsPerSecond:F2} steps/s")]
    public static partial void StepCompleted(ILogger logger, int step, int totalSteps, float loss, double learningRate, float logitScale, double stepsPerSecond);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "checkpoint written: {Path}")]
    public static partial void CheckpointSaved(ILogger logger, string path);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "CLIP training cancelled at step {Step}")]
    public static partial void TrainingCancelled(ILogger logger, int step);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "CLIP training finished at step {Step} after {Elapsed}")]
    public static partial void TrainingFinished(ILogger logger, int step, TimeSpan elapsed);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "resumed from {Path} at step {Step}")]
    public static partial void Resumed(ILogger logger, string path, int step);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning,
        Message = "{Path} holds no optimizer state (a checkpoint from an earlier version): AdamW's moments restart, so the resumed run only approximates an uninterrupted one")]
    public static partial void NoOptimizerState(ILogger logger, string path);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "CLIPTextModel from {Path}: {Parameters} parameters in {DType}, {Activation}")]
    public static partial void TextModelLoaded(ILogger logger, string path, long parameters, string dtype, ClipActivation activation);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning,
        Message = "the {Which} prompt has {Tokens} tokens; CLIP takes {Max} (start and end included), so it is truncated to: \"{Kept}\"")]
    public static partial void PromptTruncated(ILogger logger, string which, int tokens, int max, string kept);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "{Path}: component \"{Key}\" ({ClassName}) is not used by this pipeline; ignored")]
    public static partial void ComponentIgnored(ILogger logger, string path, string key, string className);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "{Path}: the saved {Saved} is replaced by the {Passed} passed in")]
    public static partial void SchedulerReplaced(ILogger logger, string path, string saved, string passed);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Stable Diffusion pipeline from {Path}: {Scheduler}, {Device}, {DType}, latent factor {Factor}")]
    public static partial void PipelineLoaded(ILogger logger, string path, string scheduler, string device, string dtype, int factor);
}
