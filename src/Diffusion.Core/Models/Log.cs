using Microsoft.Extensions.Logging;

namespace Diffusion.Models;

/// <summary>Source-generated log messages of the models.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "{Path}: config key \"{Key}\" is not a {ClassName} field; ignored")]
    public static partial void UnknownModelConfigKey(ILogger logger, string path, string key, string className);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "{Path}: renamed {Count} attention weights from the old names (query, key, value, proj_attn) as diffusers does")]
    public static partial void RenamedDeprecatedAttentionKeys(ILogger logger, string path, int count);

    [LoggerMessage(EventId = 402, Level = LogLevel.Debug, Message = "loaded {ClassName} from {Path} ({Parameters} parameters, {DType})")]
    public static partial void LoadedPretrained(ILogger logger, string className, string path, long parameters, string dtype);
}
