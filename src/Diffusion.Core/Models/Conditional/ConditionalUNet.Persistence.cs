using Diffusion.IO;
using Diffusion.Models.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Models;

/// <summary>Loading and saving model folders.</summary>
public sealed partial class ConditionalUNet
{
    /// <summary>
    /// Opens a folder that <see cref="SavePretrained"/> wrote: <c>config.json</c> (<c>"_class_name":
    /// "ConditionalUNet"</c> and the <see cref="ConditionalUNetOptions"/> in snake_case) and
    /// <c>diffusion_pytorch_model.safetensors</c> (or the <c>.fp16.safetensors</c> variant, or a <c>.bin</c> state dict).
    /// </summary>
    /// <param name="directory">The folder.</param>
    /// <param name="device">Where to put the weights; null keeps them on the CPU.</param>
    /// <param name="dtype">Float32, Float16 or BFloat16; null keeps float32, whatever the file holds.</param>
    /// <param name="loggerFactory">Receives a warning per ignored config key; null means none.</param>
    /// <returns>The model in eval mode; the caller owns and disposes it.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>config.json</c> or the weights are missing.</exception>
    /// <exception cref="InvalidDataException">The config is malformed, names another class, breaks a rule, or does not fit the
    /// weights (every missing, unexpected and mis-shaped key is listed); the message names the file.</exception>
    public static ConditionalUNet FromPretrained(string directory, Device? device = null, ScalarType? dtype = null, ILoggerFactory? loggerFactory = null) =>
        PretrainedFolder.Open(
            directory,
            nameof(ConditionalUNet),
            device,
            dtype,
            (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ConditionalUNet>(),
            ConditionalUNetOptions.FromJson,
            options => options.GetViolations(),
            (options, shapes, weightsPath) => StateDictCheck.ConfigSizes(weightsPath, PretrainedFolder.ConfigFileName, "do not fit the ConditionalUNet", ExpectedShapes(options), shapes),
            (options, type) => new ConditionalUNet(options, dtype: type));

    /// <inheritdoc />
    public string ToConfigJson() => Options.ToJson();

    /// <summary>
    /// Writes the model as a folder: <c>config.json</c> (its <see cref="Options"/>, <c>"_class_name":
    /// "ConditionalUNet"</c>) and <c>diffusion_pytorch_model.safetensors</c> in the weights' current dtype, each to a
    /// temporary name and then renamed. <see cref="FromPretrained"/> and <see cref="PretrainedModel.FromPretrained"/> open it.
    /// </summary>
    /// <param name="directory">The folder; created if needed. Files of those names are replaced.</param>
    /// <exception cref="IOException">A file could not be written (the previous one, if any, is unchanged).</exception>
    public void SavePretrained(string directory) => PretrainedFolder.Save(this, directory, ToConfigJson());

    private static List<(string Key, long[] Shape)> ExpectedShapes(ConditionalUNetOptions o)
    {
        List<(string Key, long[] Shape)> expected = UNet.ExpectedShapes(o.UNet);
        if (o.NumClasses is { } classes)
        {
            expected.Add(("class_embedding.weight", [classes + 1, o.UNet.TimeEmbeddingDim]));
        }

        return expected;
    }
}
