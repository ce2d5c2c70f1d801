using System.Text;
using System.Text.Json;
using Diffusion.Schedulers.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Diffusion.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Reads and writes diffusers' <c>scheduler_config.json</c>. <c>"_class_name"</c> (<c>DDPMScheduler</c>,
/// <c>DDIMScheduler</c>, <c>EulerDiscreteScheduler</c>, <c>DPMSolverMultistepScheduler</c>,
/// <c>EulerAncestralDiscreteScheduler</c>, <c>PNDMScheduler</c>, <c>LMSDiscreteScheduler</c>, <c>HeunDiscreteScheduler</c>,
/// <c>UniPCMultistepScheduler</c>) picks the scheduler;
/// every options property is read by its snake_case name (diffusers' keys and our extras <c>"eta"</c>,
/// <c>"use_clipped_model_output"</c>, <c>"previous_timestep_from_schedule"</c>, <c>"beta_schedule":
/// "clipped_cosine"</c>); enums by diffusers' strings. Keys starting with "_" are metadata and skipped; other
/// unknown keys are logged and ignored.
/// </summary>
public static class SchedulerConfig
{
    /// <summary>Creates the scheduler a diffusers scheduler config describes.</summary>
    /// <param name="diffusersSchedulerConfigJson">The JSON text. Python's bare NaN/Infinity literals are accepted.</param>
    /// <param name="loggerFactory">Receives a warning per ignored key; null means none.</param>
    /// <returns>A new scheduler, owned (and disposed) by the caller.</returns>
    /// <exception cref="InvalidDataException">Malformed JSON, no or an unknown "_class_name", or a value of the wrong kind (the message names the key, what was expected and what was found).</exception>
    /// <exception cref="ArgumentException">The values break the options' rules (the message lists every violation).</exception>
    public static INoiseScheduler FromJson(string diffusersSchedulerConfigJson, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(diffusersSchedulerConfigJson);
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger(typeof(SchedulerConfig).FullName!);

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(SchedulerJson.QuoteNonFiniteLiterals(diffusersSchedulerConfigJson));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The scheduler config is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"The scheduler config must be a JSON object; got {root.ValueKind}.");
            }

            SchedulerJson.Entry entry = FindEntry(root);
            Dictionary<string, System.Reflection.PropertyInfo> properties = SchedulerJson.Properties(entry.OptionsType);
            object options = Activator.CreateInstance(entry.OptionsType)!;
            int keys = 0;
            foreach (JsonProperty item in root.EnumerateObject())
            {
                keys++;
                if (item.Name.StartsWith('_'))
                {
                    continue;
                }

                if (properties.TryGetValue(item.Name, out var property))
                {
                    property.SetValue(options, SchedulerJsonValues.Read(property, item.Name, item.Value));
                }
                else if (SchedulerJson.IsUnimplementedDefault(entry, item.Name, item.Value, out bool known))
                {
                    Log.UnimplementedDefaultIgnored(logger, item.Name);
                }
                else if (known)
                {
                    throw new InvalidDataException($"scheduler config key \"{item.Name}\" is only supported at its default {SchedulerJson.DefaultText(item.Name)} ({entry.ClassName} feature not implemented here); got {item.Value.GetRawText()}.");
                }
                else
                {
                    Log.UnknownConfigKey(logger, item.Name, entry.ClassName);
                }
            }

            INoiseScheduler scheduler = entry.Create(options);
            Log.CreatedFromConfig(logger, entry.ClassName, keys);
            return scheduler;
        }
    }

    /// <summary>Reads a scheduler_config.json file; see <see cref="FromJson"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="loggerFactory">Receives a warning per ignored key; null means none.</param>
    /// <returns>A new scheduler, owned (and disposed) by the caller.</returns>
    /// <exception cref="InvalidDataException">The file's content is not a valid config, including values that break the options' rules; the message names the path.</exception>
    public static INoiseScheduler Load(string path, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text = File.ReadAllText(path);
        try
        {
            return FromJson(text, loggerFactory);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            // From a file, values that break the options' rules are bad data, not a bad argument.
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Writes the scheduler's options as a diffusers scheduler config (keys sorted, as diffusers writes them).</summary>
    /// <param name="scheduler">One of this library's schedulers.</param>
    /// <returns>Indented JSON with every key diffusers' <c>save_config</c> writes for the class (those of features not
    /// implemented here at the default they must have). Our extras (eta, …) are written only when they differ from their
    /// defaults; diffusers ignores them, except the value "clipped_cosine", which it does not know.</returns>
    /// <exception cref="ArgumentException">The scheduler is not one of this library's.</exception>
    public static string ToJson(INoiseScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        foreach (SchedulerJson.Entry entry in SchedulerJson.Entries)
        {
            if (entry.OptionsOf(scheduler) is not { } options)
            {
                continue;
            }

            object defaults = Activator.CreateInstance(entry.OptionsType)!;
            using var stream = new MemoryStream();
            // The relaxed encoder writes "dpmsolver++" as diffusers does, not "dpmsolver\u002B\u002B".
            using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                writer.WriteStartObject();
                writer.WriteString("_class_name", entry.ClassName);
                var written = new SortedDictionary<string, Action>(StringComparer.Ordinal);
                foreach (var (key, property) in SchedulerJson.Properties(entry.OptionsType))
                {
                    object? value = property.GetValue(options);
                    bool isDefault = Equals(value, property.GetValue(defaults));

                    // JSON has no infinities: leave out a non-finite default (lambda_min_clipped = -inf); our own keys
                    // (eta, use_clipped_model_output, ...) only when they differ from their defaults, so that a config
                    // diffusers saved comes back with diffusers' keys and nothing else.
                    if (isDefault && ((value is double d && !double.IsFinite(d)) || SchedulerJson.OwnKeys.Contains(key)))
                    {
                        continue;
                    }

                    written[key] = () => SchedulerJsonValues.Write(writer, key, value);
                }

                // diffusers' keys for features this library does not implement: written with the only value accepted.
                foreach (string key in entry.UnimplementedKeys)
                {
                    written[key] = () => SchedulerJson.WriteFeatureDefault(writer, key);
                }

                foreach (Action write in written.Values)
                {
                    write();
                }

                writer.WriteEndObject();
            }

            return Encoding.UTF8.GetString(stream.ToArray());
        }

        throw new ArgumentException($"scheduler must be one of {string.Join(", ", SchedulerJson.Entries.Select(e => e.ClassName))} (this library's); got {scheduler.GetType().Name}.", nameof(scheduler));
    }

    private static SchedulerJson.Entry FindEntry(JsonElement root)
    {
        string expected = string.Join(", ", SchedulerJson.Entries.Select(e => "\"" + e.ClassName + "\""));
        if (!root.TryGetProperty("_class_name", out JsonElement className) || className.ValueKind != JsonValueKind.String)
        {
            throw new InvalidDataException($"scheduler config key \"_class_name\" must be one of {expected}; got {(className.ValueKind == JsonValueKind.Undefined ? "no such key" : className.GetRawText())}.");
        }

        string name = className.GetString()!;
        return SchedulerJson.Entries.FirstOrDefault(e => e.ClassName == name)
            ?? throw new InvalidDataException($"scheduler config key \"_class_name\" must be one of {expected}; got \"{name}\".");
    }
}
