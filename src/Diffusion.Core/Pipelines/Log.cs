using Microsoft.Extensions.Logging;

namespace Diffusion.Pipelines;

/// <summary>Source-generated log messages of the pipelines.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "{Path} is a bare UNet2DModel folder with no scheduler: sampling with a default DDPMScheduler of {Steps} training steps")]
    public static partial void DefaultScheduler(ILogger logger, string path, int steps);

    [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "{Path}: the saved {Saved} is replaced by the {Passed} passed in")]
    public static partial void SchedulerReplaced(ILogger logger, string path, string saved, string passed);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning, Message = "{Path}: component \"{Key}\" is not used by {ClassName}; ignored")]
    public static partial void UnknownComponent(ILogger logger, string path, string key, string className);
}
