using Microsoft.Extensions.Logging;

namespace Diffusion.Clip;

/// <summary>Source-generated log messages of Diffusion.Clip. Training steps, checkpoints and resumes log through the training engine (Diffusion.Core, Training/Log.cs).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "CLIP training: up to {MaxSteps} steps, batch {BatchSize}, {Pairs} pairs, {Parameters} parameters, loss {Loss}")]
    public static partial void TrainingStarted(ILogger logger, long? maxSteps, int batchSize, int pairs, long parameters, ClipLossKind loss);

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
