using Diffusion.Internal;
using Diffusion.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Diffusion.Models.Internal;

/// <summary>
/// The steps every diffusers model folder shares (<c>config.json</c> + <c>diffusion_pytorch_model.*</c>), whatever the
/// class: argument checks, reading the config (unknown keys logged, rule violations listed), finding the weights,
/// checking them, building the model and copying the weights in tensor by tensor, and writing a folder back with
/// each file replaced atomically. Each model class supplies its config parser, the tensor shapes its config fixes and
/// its constructor as an <see cref="IPretrainedFolderModel{TSelf, TConfig}"/>.
/// </summary>
internal static class PretrainedFolder
{
    /// <summary>Configuration file name in a diffusers model folder.</summary>
    public const string ConfigFileName = "config.json";

    /// <summary>The U-Net component's folder in a diffusers pipeline folder.</summary>
    public const string UNetFolder = "unet";

    /// <summary>The scheduler component's folder in a diffusers pipeline folder.</summary>
    public const string SchedulerFolder = "scheduler";

    /// <summary>The file in <see cref="SchedulerFolder"/> that holds the scheduler's class and options.</summary>
    public const string SchedulerConfigFileName = "scheduler_config.json";

    /// <summary>
    /// Opens <paramref name="directory"/> as a folder of the model class <typeparamref name="TModel"/> (whose name is
    /// diffusers' class name, for messages and logs).
    /// </summary>
    /// <typeparam name="TModel">The model class; it says how its config reads, what it fixes and how it is built.</typeparam>
    /// <typeparam name="TConfig">The class's config record.</typeparam>
    /// <param name="directory">The folder.</param>
    /// <param name="device">Where the weights go; null keeps the CPU.</param>
    /// <param name="dtype">Float32, Float16, BFloat16 or null (float32).</param>
    /// <param name="loggerFactory">Receives unknown config keys, renamed keys and the summary line; null means none.</param>
    /// <returns>The model in eval mode; the caller owns it.</returns>
    public static TModel Open<TModel, TConfig>(string directory, Device? device, ScalarType? dtype, ILoggerFactory? loggerFactory)
        where TModel : nn.Module, IPretrainedFolderModel<TModel, TConfig>
        where TConfig : IModelConfig<TConfig>
    {
        string className = typeof(TModel).Name;
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<TModel>();
        string configPath = RequireConfig(directory, className, dtype);
        var unknown = new List<string>();
        TConfig config;
        try
        {
            config = ReadConfig<TConfig>(File.ReadAllText(configPath), configPath, className, unknown);
        }
        finally
        {
            foreach (string key in unknown) // also when a rule is broken: a misspelt key may be why
            {
                Log.UnknownModelConfigKey(logger, configPath, key, className);
            }
        }

        string weightsPath = DiffusersWeights.Find(directory);
        IReadOnlyDictionary<string, IReadOnlyList<long>> fileShapes = DiffusersWeights.Shapes(weightsPath);
        StateDictCheck.ConfigSizes(weightsPath, ConfigFileName, $"do not fit the {className}", TModel.ExpectedShapes(config), fileShapes);

        return Disposal.DisposeOnFailure(TModel.Create(config, dtype), model =>
        {
            if (device is not null)
            {
                model.to(device); // before loading: each tensor is then copied straight to the device, never held twice
            }

            int renamed = DiffusersWeights.Load(model, weightsPath);
            if (renamed > 0)
            {
                Log.RenamedDeprecatedAttentionKeys(logger, weightsPath, renamed);
            }

            model.eval();
            ScalarType loadedType = model.parameters().Select(p => p.dtype).FirstOrDefault(ScalarType.Float32);
            Log.LoadedPretrained(logger, className, directory, model.parameters().Sum(p => p.numel()), loadedType.ToString());
        });
    }

    /// <summary>The checks every model folder starts with: the arguments, the folder, its <c>config.json</c>.</summary>
    /// <param name="directory">The folder.</param>
    /// <param name="className">The model class, for the message.</param>
    /// <param name="dtype">The requested weights' type (see <see cref="CheckDType"/>).</param>
    /// <returns>The path of the folder's <c>config.json</c>.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">It has no <c>config.json</c>.</exception>
    public static string RequireConfig(string directory, string className, ScalarType? dtype)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        CheckDType(dtype);
        RequireDirectory(directory, className);
        string configPath = Path.Combine(directory, ConfigFileName);
        return File.Exists(configPath) ? configPath : throw new FileNotFoundException($"{directory} has no {ConfigFileName}.", configPath);
    }

    /// <summary>The check every folder a factory opens starts with (a model's, a pipeline's).</summary>
    /// <param name="directory">The folder.</param>
    /// <param name="what">What the folder holds, for the message: "UNet2DModel", "Stable Diffusion", ...</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null or empty.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static void RequireDirectory(string directory, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{what} folder not found: {directory}");
        }
    }

    /// <summary>The first of <paramref name="names"/> (the weights files in order of preference) that
    /// <paramref name="directory"/> holds.</summary>
    /// <exception cref="FileNotFoundException">None of them exists.</exception>
    public static string FindWeights(string directory, params string[] names)
    {
        foreach (string name in names)
        {
            string path = Path.Combine(directory, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new FileNotFoundException(
            $"{directory} has no weights: expected {string.Join(", ", names[..^1])} or {names[^1]}.", Path.Combine(directory, names[0]));
    }

    /// <summary>Writes <paramref name="model"/>'s weights in their current dtype and its <c>config.json</c>
    /// (<see cref="IPretrainedModel.ToConfigJson"/>) into <paramref name="directory"/> (created if needed), each file to a
    /// temporary name and then renamed.</summary>
    public static void Save<TModel>(TModel model, string directory)
        where TModel : nn.Module, IPretrainedModel
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        model.SaveSafeTensors(Path.Combine(directory, DiffusersWeights.SafeTensorsFileName));
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFileName), model.ToConfigJson());
    }

    /// <summary>Throws unless <paramref name="dtype"/> is null, Float32, Float16 or BFloat16.</summary>
    public static void CheckDType(ScalarType? dtype)
    {
        if (dtype is not null and not ScalarType.Float32 and not ScalarType.Float16 and not ScalarType.BFloat16)
        {
            throw new ArgumentException($"dtype must be Float32, Float16 or BFloat16; got {dtype}.", nameof(dtype));
        }
    }

    /// <summary>Reads a model's <c>config.json</c> text and refuses a configuration that breaks a rule.</summary>
    /// <typeparam name="TConfig">The model class's config record.</typeparam>
    /// <param name="json">The text.</param>
    /// <param name="source">Where the text comes from (a path, "the model config"), for the message.</param>
    /// <param name="className">The model class, for the message.</param>
    /// <param name="unknownKeys">Receives the keys the record does not know; null drops them.</param>
    /// <returns>A configuration the model can be built from.</returns>
    /// <exception cref="InvalidDataException">The text is malformed, or the configuration breaks rules (all are listed); the
    /// message starts with <paramref name="source"/>.</exception>
    public static TConfig ReadConfig<TConfig>(string json, string source, string className, ICollection<string>? unknownKeys)
        where TConfig : IModelConfig<TConfig>
    {
        TConfig config = DataFile.Naming(source, () => TConfig.FromJson(json, unknownKeys));
        OptionsValidation.ThrowIfAnyInFile(source, className, config.GetViolations());
        return config;
    }
}
