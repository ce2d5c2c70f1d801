using System.Text;
using System.Text.Json;
using Diffusion.Models;
using Diffusion.Models.Internal;
using Microsoft.Extensions.Logging;
using Diffusion.Internal;

namespace Diffusion.Pipelines;

/// <summary>Reading and writing <c>model_index.json</c> and the checks made before a model is built.</summary>
public sealed partial class DiffusionPipeline
{
    private const string DdpmPipelineClass = "DDPMPipeline";
    private const string DdimPipelineClass = "DDIMPipeline";

    // model_index.json as diffusers' DiffusionPipeline.save_pretrained writes it: each component is [library, class]
    // (pipeline_utils.py register_modules), keys sorted, two-space indent (configuration_utils.py to_json_string).
    private static string ModelIndexJson(string pipelineClass, string schedulerClass)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("_class_name", pipelineClass);
            writer.WriteString("_diffusers_version", ModelConfigJson.DiffusersVersion);
            WriteComponent(writer, PretrainedFolder.SchedulerFolder, schedulerClass);
            WriteComponent(writer, PretrainedFolder.UNetFolder, nameof(UNet2DModel));
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";

        static void WriteComponent(Utf8JsonWriter writer, string name, string className)
        {
            writer.WriteStartArray(name);
            writer.WriteStringValue("diffusers");
            writer.WriteStringValue(className);
            writer.WriteEndArray();
        }
    }

    private static void ReadModelIndex(string indexPath, ILogger logger)
    {
        using (JsonDocument document = ModelIndexFile.Parse(indexPath))
        {
            JsonElement root = document.RootElement;
            if (!root.TryGetProperty("_class_name", out JsonElement classElement) || classElement.ValueKind != JsonValueKind.String)
            {
                throw new InvalidDataException($"{indexPath}: \"_class_name\" must be a string naming the pipeline; got {Describe(root, "_class_name")}.");
            }

            string className = classElement.GetString()!;
            if (className is not DdpmPipelineClass and not DdimPipelineClass)
            {
                throw new InvalidDataException(
                    $"{indexPath}: \"_class_name\" is \"{className}\"; this library loads {DdpmPipelineClass} and {DdimPipelineClass} folders " +
                    "(an unconditional UNet2DModel with a scheduler). Open other models' parts with their own FromPretrained.");
            }

            RequireComponent(root, indexPath, PretrainedFolder.UNetFolder, c => c == nameof(UNet2DModel), nameof(UNet2DModel));
            RequireComponent(root, indexPath, PretrainedFolder.SchedulerFolder, c => c.EndsWith("Scheduler", StringComparison.Ordinal), "a scheduler class such as DDPMScheduler");
            foreach (JsonProperty item in root.EnumerateObject())
            {
                if (!item.Name.StartsWith('_') && item.Name is not PretrainedFolder.UNetFolder and not PretrainedFolder.SchedulerFolder)
                {
                    Log.UnknownComponent(logger, indexPath, item.Name, className);
                }
            }
        }
    }

    private static void RequireComponent(JsonElement root, string indexPath, string name, Func<string, bool> isExpected, string expected)
    {
        if (!root.TryGetProperty(name, out JsonElement value))
        {
            throw new InvalidDataException($"{indexPath}: no \"{name}\" component; a {DdpmPipelineClass}/{DdimPipelineClass} folder lists \"{name}\": [\"diffusers\", \"<class>\"].");
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 2 ||
            value[0].ValueKind != JsonValueKind.String || value[1].ValueKind != JsonValueKind.String)
        {
            throw new InvalidDataException($"{indexPath}: \"{name}\" must be [\"<library>\", \"<class>\"] (two strings); got {value.GetRawText()}.");
        }

        string className = value[1].GetString()!;
        if (!isExpected(className))
        {
            throw new InvalidDataException($"{indexPath}: \"{name}\" is a {className}; expected {expected}.");
        }
    }

    private static string Describe(JsonElement root, string key) =>
        root.TryGetProperty(key, out JsonElement value) ? value.GetRawText() : "nothing";

    private static void RequireFile(string path, string indexPath, string component)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{indexPath} lists the \"{component}\" component, but {path} is missing.", path);
        }
    }

    // Read before the model is built, so that a U-Net the pipeline cannot sample from costs no memory.
    private static (int ImageSize, int Channels, int? TrainSteps) ReadSampleShape(string configPath, bool bare)
    {
        string text = File.ReadAllText(configPath);
        RefuseListSampleSizeAndOtherClasses(text, configPath, bare);
        UNet2DModelConfig config = PretrainedFolder.ReadConfig<UNet2DModelConfig>(text, configPath, nameof(UNet2DModel), unknownKeys: null);

        if (config.SampleSize is not { } size)
        {
            throw new InvalidDataException($"{configPath}: \"sample_size\" is missing or null; the pipeline needs it for the image size.");
        }

        if (config.ClassEmbedType is not null || config.NumClassEmbeds is not null)
        {
            throw new InvalidDataException(
                $"{configPath}: the U-Net is class-conditional (class_embed_type {config.ClassEmbedType?.ToString() ?? "null"}, num_class_embeds " +
                $"{config.NumClassEmbeds?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"}); this pipeline samples unconditional models only.");
        }

        return (size, config.InChannels, config.NumTrainTimesteps);
    }

    private static void RefuseListSampleSizeAndOtherClasses(string text, string configPath, bool bare)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return; // UNet2DModelConfig.FromJson reports it (it also accepts Python's NaN literals)
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            if (bare && root.TryGetProperty("_class_name", out JsonElement c) && (c.ValueKind != JsonValueKind.String || c.GetString() != nameof(UNet2DModel)))
            {
                throw new InvalidDataException($"{configPath}: \"_class_name\" is {c.GetRawText()}; a folder without {ModelIndexFileName} must be a UNet2DModel folder.");
            }

            if (root.TryGetProperty("sample_size", out JsonElement s) && s.ValueKind == JsonValueKind.Array)
            {
                throw new InvalidDataException($"{configPath}: \"sample_size\" is {s.GetRawText()}; this pipeline draws square images and needs one number.");
            }
        }
    }
}
