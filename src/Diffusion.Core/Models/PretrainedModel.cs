using Diffusion.Models.Internal;
using Microsoft.Extensions.Logging;

namespace Diffusion.Models;

/// <summary>
/// Opens a model folder without knowing its class in advance: <c>config.json</c>'s <c>_class_name</c> picks the
/// class (<see cref="UNet"/>, <see cref="ConditionalUNet"/>, <see cref="UNet2DModel"/>, <see cref="UNet2DConditionModel"/>, <see cref="AutoencoderKL"/>), which then reads its own
/// configuration and weights.
/// </summary>
/// <example>
/// <code>
/// using nn.Module model = PretrainedModel.FromPretrained("runs/flowers/unet-ema");
/// if (model is UNet unet) { /* sample with new DiffusionPipeline(unet, scheduler) */ }
/// </code>
/// </example>
public static class PretrainedModel
{
    /// <summary>The <c>_class_name</c> values this library can open.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = [nameof(UNet), nameof(ConditionalUNet), nameof(UNet2DModel), nameof(UNet2DConditionModel), nameof(AutoencoderKL)];

    /// <summary>Opens a model folder of any class in <see cref="ClassNames"/>.</summary>
    /// <param name="directory">The folder: <c>config.json</c> and <c>diffusion_pytorch_model.*</c>.</param>
    /// <param name="device">Where to put the weights; null keeps them on the CPU.</param>
    /// <param name="dtype">Float32, Float16 or BFloat16; null keeps float32.</param>
    /// <param name="loggerFactory">Receives warnings about ignored config keys; null means none.</param>
    /// <returns>The model in eval mode (also an <see cref="IPretrainedModel"/>); the caller owns and disposes it.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>config.json</c> or the weights are missing.</exception>
    /// <exception cref="InvalidDataException">The config has no <c>_class_name</c>, names a class this library cannot open,
    /// or does not fit the weights.</exception>
    public static nn.Module FromPretrained(string directory, Device? device = null, ScalarType? dtype = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string configPath = Path.Combine(directory, PretrainedFolder.ConfigFileName);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"model folder not found: {directory}");
        }

        if (!File.Exists(configPath))
        {
            throw new FileNotFoundException($"{directory} has no {PretrainedFolder.ConfigFileName}.", configPath);
        }

        string className = ClassNameOf(File.ReadAllText(configPath), configPath);
        return className switch
        {
            nameof(UNet) => UNet.FromPretrained(directory, device, dtype, loggerFactory),
            nameof(ConditionalUNet) => ConditionalUNet.FromPretrained(directory, device, dtype, loggerFactory),
            nameof(UNet2DModel) => UNet2DModel.FromPretrained(directory, device, dtype, loggerFactory),
            nameof(UNet2DConditionModel) => UNet2DConditionModel.FromPretrained(directory, device, dtype, loggerFactory),
            nameof(AutoencoderKL) => AutoencoderKL.FromPretrained(directory, device, dtype, loggerFactory),
            _ => throw Unsupported(className, configPath),
        };
    }

    /// <summary>Builds the architecture a config describes, with freshly initialised weights (for example to load a
    /// trainer checkpoint's weights into).</summary>
    /// <param name="configJson">A <c>config.json</c> text with <c>_class_name</c> (<see cref="IPretrainedModel.ToConfigJson"/>).</param>
    /// <param name="device">Where to put the weights; null keeps them on the CPU.</param>
    /// <param name="dtype">Float32, Float16 or BFloat16; null keeps float32.</param>
    /// <returns>The model; the caller owns and disposes it.</returns>
    /// <exception cref="InvalidDataException">The text is not a config this library can build; the message says why.</exception>
    public static nn.Module FromConfigJson(string configJson, Device? device = null, ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(configJson);
        PretrainedFolder.CheckDType(dtype);
        string className = ClassNameOf(configJson, "the model config");
        return className switch
        {
            nameof(UNet) => Build<UNet, UNetOptions>(configJson, device, dtype, className),
            nameof(ConditionalUNet) => Build<ConditionalUNet, ConditionalUNetOptions>(configJson, device, dtype, className),
            nameof(UNet2DModel) => Build<UNet2DModel, UNet2DModelConfig>(configJson, device, dtype, className),
            nameof(UNet2DConditionModel) => Build<UNet2DConditionModel, UNet2DConditionModelConfig>(configJson, device, dtype, className),
            nameof(AutoencoderKL) => Build<AutoencoderKL, AutoencoderKLConfig>(configJson, device, dtype, className),
            _ => throw Unsupported(className, "the model config"),
        };
    }

    private static string ClassNameOf(string json, string source) =>
        ModelConfigJson.ClassName(json)
            ?? throw new InvalidDataException($"{source} has no \"_class_name\": expected one of {string.Join(", ", ClassNames)}.");

    private static InvalidDataException Unsupported(string className, string source) =>
        new($"{source}: \"_class_name\" is \"{className}\"; this library opens {string.Join(", ", ClassNames)} here.");

    // Reads and checks the config as PretrainedFolder.Open does (PretrainedFolder.ReadConfig), then builds the class.
    private static TModel Build<TModel, TConfig>(string configJson, Device? device, ScalarType? dtype, string className)
        where TModel : nn.Module, IPretrainedFolderModel<TModel, TConfig>
        where TConfig : IModelConfig<TConfig>
    {
        TConfig config = PretrainedFolder.ReadConfig<TConfig>(configJson, "the model config", className, unknownKeys: null);
        TModel model = TModel.Create(config, dtype);
        if (device is not null)
        {
            model.to(device);
        }

        return model;
    }
}
