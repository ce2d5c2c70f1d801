using System.Text.Json;
using Diffusion.Clip;
using Diffusion.Internal;
using Diffusion.Models;
using Diffusion.Models.Internal;
using Diffusion.Schedulers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Diffusion.Pipelines;

/// <summary>Opening a diffusers Stable Diffusion folder.</summary>
public sealed partial class StableDiffusionPipeline
{
    /// <summary>The pipeline index file of a diffusers pipeline folder.</summary>
    public const string ModelIndexFileName = ModelIndexFile.FileName;

    // Each required component: its folder and the file that must be in it.
    private static readonly (string Name, string File)[] Components =
    [
        ("text_encoder", ClipTextModel.ConfigFileName),
        ("tokenizer", "vocab.json"),
        (PretrainedFolder.UNetFolder, UNet2DConditionModel.ConfigFileName),
        ("vae", AutoencoderKL.ConfigFileName),
        (PretrainedFolder.SchedulerFolder, PretrainedFolder.SchedulerConfigFileName),
    ];

    private static readonly HashSet<string> PipelineClasses = new(StringComparer.Ordinal) { "StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline" };

    /// <summary>
    /// Opens a diffusers Stable Diffusion folder, such as a download of <c>stable-diffusion-v1-5/stable-diffusion-v1-5</c> or
    /// <c>stabilityai/stable-diffusion-2-1-base</c>: <c>model_index.json</c> and the <c>text_encoder/</c>
    /// (<see cref="ClipTextModel"/>), <c>tokenizer/</c> (<see cref="ClipTokenizer"/>), <c>unet/</c>
    /// (<see cref="UNet2DConditionModel"/>), <c>vae/</c> (<see cref="AutoencoderKL"/>) and <c>scheduler/</c>
    /// (<see cref="SchedulerConfig"/>: any scheduler class this library has) folders.
    /// </summary>
    /// <remarks>
    /// Every component folder is checked before any weights are read. <c>safety_checker</c>, <c>feature_extractor</c> and other
    /// components are not loaded (a log line says so). Each model's weights are read tensor by tensor into the model
    /// (<c>.safetensors</c>, the <c>.fp16.safetensors</c> variant or a PyTorch <c>.bin</c>, read without running code). With
    /// <paramref name="dtype"/> Float16 the VAE stays in float32 when its config says <c>force_upcast</c> (SD 1.5's does),
    /// as diffusers upcasts it: its float16 decode can overflow.
    /// </remarks>
    /// <param name="directory">The pipeline folder.</param>
    /// <param name="device">Where to put the weights; null keeps them on the CPU.</param>
    /// <param name="dtype">The weights' element type (float32, float16 or bfloat16); null keeps float32.</param>
    /// <param name="loggerFactory">Receives what was ignored and the prompt-truncation warnings; null means none.</param>
    /// <param name="scheduler">Replaces the folder's scheduler (stays the caller's); null reads <c>scheduler/scheduler_config.json</c>.</param>
    /// <returns>A pipeline that owns what it loaded; the caller disposes it.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>model_index.json</c>, a component's folder or its main file is missing; the message names the component.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, names a pipeline or component this library cannot load, or the parts do not fit together; the message names the file.</exception>
    public static StableDiffusionPipeline FromPretrained(string directory, Device? device = null, ScalarType? dtype = null,
        ILoggerFactory? loggerFactory = null, INoiseScheduler? scheduler = null)
    {
        PretrainedFolder.RequireDirectory(directory, "Stable Diffusion");
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<StableDiffusionPipeline>();
        string indexPath = Path.Combine(directory, ModelIndexFileName);
        if (!File.Exists(indexPath))
        {
            throw new FileNotFoundException($"{directory} is not a diffusers pipeline folder: it has no {ModelIndexFileName}.", indexPath);
        }

        ReadModelIndex(indexPath, logger);
        foreach ((string name, string file) in Components)
        {
            string folder = Path.Combine(directory, name);
            if (!Directory.Exists(folder))
            {
                throw new FileNotFoundException($"{directory}: the \"{name}\" component's folder is missing ({folder}); a Stable Diffusion folder needs " +
                    string.Join(", ", Components.Select(c => c.Name + "/")) + ".", folder);
            }

            if (!File.Exists(Path.Combine(folder, file)) && !(name == PretrainedFolder.SchedulerFolder && scheduler is not null))
            {
                throw new FileNotFoundException($"{directory}: the \"{name}\" component has no {file}.", Path.Combine(folder, file));
            }
        }

        // The U-Net and VAE configs are read and checked first, so that parts that do not fit cost no memory.
        UNet2DConditionModelConfig unetConfig = ReadConfig<UNet2DConditionModelConfig>(
            Path.Combine(directory, PretrainedFolder.UNetFolder, UNet2DConditionModel.ConfigFileName), nameof(UNet2DConditionModel));
        AutoencoderKLConfig vaeConfig = ReadConfig<AutoencoderKLConfig>(Path.Combine(directory, "vae", AutoencoderKL.ConfigFileName), nameof(AutoencoderKL));
        ScalarType? vaeType = vaeConfig.PipelineType(dtype);

        var owned = new List<IDisposable>();
        try
        {
            INoiseScheduler sampler;
            if (scheduler is null)
            {
                sampler = SchedulerConfig.Load(Path.Combine(directory, PretrainedFolder.SchedulerFolder, PretrainedFolder.SchedulerConfigFileName), loggerFactory);
                owned.Add(sampler);
            }
            else
            {
                sampler = scheduler;
                Diffusion.Clip.Log.SchedulerReplaced(logger, directory, PretrainedFolder.SchedulerFolder + "/" + PretrainedFolder.SchedulerConfigFileName, scheduler.GetType().Name);
            }

            ClipTokenizer tokenizer = ClipTokenizer.FromPretrained(Path.Combine(directory, "tokenizer"));
            ClipTextModel textModel = ClipTextModel.FromPretrained(Path.Combine(directory, "text_encoder"), device, dtype, loggerFactory);
            owned.Add(textModel);
            ClipTextEncoder textEncoder;
            try
            {
                textEncoder = new ClipTextEncoder(textModel, tokenizer);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{directory}: the tokenizer does not fit the text encoder: {e.Message}", e);
            }

            if (FitProblem(unetConfig, vaeConfig, textEncoder.EmbeddingDim) is { } problem)
            {
                throw new InvalidDataException($"{directory}: the components do not fit together: {problem}");
            }

            UNet2DConditionModel unet = UNet2DConditionModel.FromPretrained(Path.Combine(directory, PretrainedFolder.UNetFolder), device, dtype, loggerFactory);
            owned.Add(unet);
            AutoencoderKL vae = AutoencoderKL.FromPretrained(Path.Combine(directory, "vae"), device, vaeType, loggerFactory);
            owned.Add(vae);
            var pipeline = new StableDiffusionPipeline(unet, vae, textEncoder, sampler, loggerFactory, [.. owned]);
            Diffusion.Clip.Log.PipelineLoaded(logger, directory, sampler.GetType().Name, unet.Device.ToString(), unet.DType.ToString(), pipeline.LatentFactor);
            return pipeline;
        }
        catch
        {
            foreach (IDisposable part in owned)
            {
                part.Dispose();
            }

            throw;
        }
    }

    // Unknown keys are left to FromPretrained, which logs them when it loads the part.
    private static T ReadConfig<T>(string path, string className)
        where T : IModelConfig<T> => PretrainedFolder.ReadConfig<T>(File.ReadAllText(path), path, className, unknownKeys: null);

    private static void ReadModelIndex(string indexPath, ILogger logger)
    {
        using (JsonDocument document = ModelIndexFile.Parse(indexPath))
        {
            JsonElement root = document.RootElement;
            string? className = root.TryGetProperty("_class_name", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            if (className is null || !PipelineClasses.Contains(className))
            {
                throw new InvalidDataException(
                    $"{indexPath}: \"_class_name\" is {(className is null ? "missing" : $"\"{className}\"")}; this pipeline opens " +
                    string.Join(" and ", PipelineClasses.Order(StringComparer.Ordinal)) + " folders.");
            }

            foreach ((string name, _) in Components)
            {
                if (!root.TryGetProperty(name, out JsonElement value) || value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 2 ||
                    value[1].ValueKind != JsonValueKind.String)
                {
                    throw new InvalidDataException(
                        $"{indexPath}: the \"{name}\" component must be listed as [\"<library>\", \"<class>\"]; got {(root.TryGetProperty(name, out JsonElement v) ? v.GetRawText() : "nothing")}.");
                }
            }

            foreach (JsonProperty item in root.EnumerateObject())
            {
                if (!item.Name.StartsWith('_') && item.Value.ValueKind == JsonValueKind.Array && !Components.Any(x => x.Name == item.Name))
                {
                    string kind = item.Value.GetArrayLength() == 2 && item.Value[1].ValueKind == JsonValueKind.String ? item.Value[1].GetString()! : "none";
                    Diffusion.Clip.Log.ComponentIgnored(logger, indexPath, item.Name, kind);
                }
            }
        }
    }
}
