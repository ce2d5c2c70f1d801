using Microsoft.Extensions.Logging;

namespace Diffusion.Clip;

/// <summary>Source-generated log messages of Diffusion.Clip. Training steps, checkpoints and resumes log through the training engine (Diffusion.Core, Training/Log.cs).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "CLIP training: up to {MaxSteps} steps, batch {BatchSize}, {Pairs} pairs, {Parameters} parameters, loss {Loss}")]
    public static partial void TrainingStarted(ILogger logger, long? maxSteps, int batchSize, int pairs, long parameters, ClipLossKind loss);
}
