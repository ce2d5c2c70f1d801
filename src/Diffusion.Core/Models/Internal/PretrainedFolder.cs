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
/// its constructor.
/// </summary>
internal static class PretrainedFolder
{
    /// <summary>Configuration file name in a diffusers model folder.</summary>
    public const string ConfigFileName = "config.json";

    /// <summary>
    /// Opens <paramref name="directory"/> as a folder of the model class <typeparamref name="TModel"/> (whose name is
    /// diffusers' class name, for messages and logs).
    /// </summary>
    /// <typeparam name="TConfig">The class's config record.</typeparam>
    /// <typeparam name="TModel">The model class.</typeparam>
    /// <param name="directory">The folder.</param>
    /// <param name="device">Where the weights go; null keeps the CPU.</param>
    /// <param name="dtype">Float32, Float16, BFloat16 or null (float32).</param>
    /// <param name="loggerFactory">Receives unknown config keys, renamed keys and the summary line; null means none.</param>
    /// <param name="parse">Parses config.json's text, adding keys it does not know to the list; throws
    /// <see cref="InvalidDataException"/> for a value of the wrong type.</param>
    /// <param name="violations">The config's broken rules (none: the model can be built).</param>
    /// <param name="expectedShapes">The shapes the config fixes for a few telling tensors (name → shape), compared with the
    /// weights file's header before anything is allocated (see <see cref="StateDictCheck.ConfigSizes"/>).</param>
    /// <param name="build">Builds the model in <paramref name="dtype"/> on the CPU.</param>
    /// <returns>The model in eval mode; the caller owns it.</returns>
    public static TModel Open<TConfig, TModel>(
        string directory,
        Device? device,
        ScalarType? dtype,
        ILoggerFactory? loggerFactory,
        Func<string, ICollection<string>, TConfig> parse,
        Func<TConfig, IReadOnlyList<string>> violations,
        Func<TConfig, IEnumerable<(string Key, long[] Shape)>> expectedShapes,
        Func<TConfig, ScalarType?, TModel> build)
        where TModel : nn.Module
    {
        string className = typeof(TModel).Name;
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<TModel>();
        string configPath = RequireConfig(directory, className, dtype);
        TConfig config = ReadConfig(configPath, className, logger, parse, violations);
        string weightsPath = DiffusersWeights.Find(directory);
        IReadOnlyDictionary<string, IReadOnlyList<long>> fileShapes = DiffusersWeights.Shapes(weightsPath);
        StateDictCheck.ConfigSizes(weightsPath, ConfigFileName, $"do not fit the {className}", expectedShapes(config), fileShapes);

        return Disposal.DisposeOnFailure(build(config, dtype), model =>
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

    /// <summary>Writes <paramref name="model"/>'s weights in their current dtype and <paramref name="configJson"/> into
    /// <paramref name="directory"/> (created if needed), each file to a temporary name and then renamed.</summary>
    public static void Save(nn.Module model, string directory, string configJson)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        model.SaveSafeTensors(Path.Combine(directory, DiffusersWeights.SafeTensorsFileName));
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFileName), configJson);
    }

    /// <summary>Throws unless <paramref name="dtype"/> is null, Float32, Float16 or BFloat16.</summary>
    public static void CheckDType(ScalarType? dtype)
    {
        if (dtype is not null and not ScalarType.Float32 and not ScalarType.Float16 and not ScalarType.BFloat16)
        {
            throw new ArgumentException($"dtype must be Float32, Float16 or BFloat16; got {dtype}.", nameof(dtype));
        }
    }

    private static TConfig ReadConfig<TConfig>(string configPath, string className, ILogger logger,
        Func<string, ICollection<string>, TConfig> parse, Func<TConfig, IReadOnlyList<string>> violations)
    {
        var unknown = new List<string>();
        TConfig config = DataFile.Naming(configPath, () => parse(File.ReadAllText(configPath), unknown));

        foreach (string key in unknown)
        {
            Log.UnknownModelConfigKey(logger, configPath, key, className);
        }

        IReadOnlyList<string> broken = violations(config);
        if (broken.Count > 0)
        {
            throw new InvalidDataException(
                $"{configPath}: not a {className} this library can build:{Environment.NewLine} - " + string.Join(Environment.NewLine + " - ", broken));
        }

        return config;
    }
}
