using Microsoft.Extensions.Logging;

namespace Diffusion.Schedulers;

/// <summary>Source-generated log messages of the schedulers.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "scheduler config key \"{Key}\" is not a {ClassName} option; ignored")]
    public static partial void UnknownConfigKey(ILogger logger, string key, string className);

    [LoggerMessage(EventId = 301, Level = LogLevel.Debug, Message = "scheduler config key \"{Key}\" has the default of a diffusers feature this library does not implement; ignored")]
    public static partial void UnimplementedDefaultIgnored(ILogger logger, string key);

    [LoggerMessage(EventId = 302, Level = LogLevel.Debug, Message = "created {ClassName} from a scheduler config with {KeyCount} keys")]
    public static partial void CreatedFromConfig(ILogger logger, string className, int keyCount);
}
