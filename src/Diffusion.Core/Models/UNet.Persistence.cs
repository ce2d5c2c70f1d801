using Diffusion.IO;
using Diffusion.Models.Internal;
using Microsoft.Extensions.Logging;

namespace Diffusion.Models;

/// <summary>Loading and saving model folders.</summary>
public sealed partial class UNet : IPretrainedFolderModel<UNet, UNetOptions>
{
    /// <summary>
    /// Opens a folder that <see cref="SavePretrained"/> wrote: <c>config.json</c> (<c>"_class_name": "UNet"</c> and
    /// the <see cref="UNetOptions"/> in snake_case) and <c>diffusion_pytorch_model.safetensors</c> (or the
    /// <c>.fp16.safetensors</c> variant, or a PyTorch <c>.bin</c> state dict of the book's model, read without running
    /// code from it).
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
    public static UNet FromPretrained(string directory, Device? device = null, ScalarType? dtype = null, ILoggerFactory? loggerFactory = null) =>
        PretrainedFolder.Open<UNet, UNetOptions>(directory, device, dtype, loggerFactory);

    /// <inheritdoc />
    public string ToConfigJson() => Options.ToJson();

    /// <summary>
    /// Writes the model as a folder: <c>config.json</c> (its <see cref="Options"/>, <c>"_class_name": "UNet"</c>) and
    /// <c>diffusion_pytorch_model.safetensors</c> in the weights' current dtype, each to a temporary name and then
    /// renamed. <see cref="FromPretrained"/> and <see cref="PretrainedModel.FromPretrained"/> open it.
    /// </summary>
    /// <param name="directory">The folder; created if needed. Files of those names are replaced.</param>
    /// <exception cref="IOException">A file could not be written (the previous one, if any, is unchanged).</exception>
    public void SavePretrained(string directory) => PretrainedFolder.Save(this, directory);

    // What PretrainedFolder.Open needs to know about this class.
    static UNet IPretrainedFolderModel<UNet, UNetOptions>.Create(UNetOptions options, ScalarType? dtype) => new(options, dtype: dtype);

    static IEnumerable<(string Key, long[] Shape)> IPretrainedFolderModel<UNet, UNetOptions>.ExpectedShapes(UNetOptions options) => ExpectedShapes(options);

    /// <summary>The shapes the options fix, checked against a weights file before anything is allocated.</summary>
    internal static List<(string Key, long[] Shape)> ExpectedShapes(UNetOptions o)
    {
        IReadOnlyList<int> d = o.HiddenDims;
        int last = d[^1];
        return
        [
            ("init_conv.weight", [d[0], o.InChannels, 3, 3]),
            ("time_embedding.0.weight", [o.TimeEmbeddingDim, d[0]]),
            ("mid_block1.conv1.weight", [last, last, 3, 3]),
            ("conv_out.weight", [o.OutChannels, d[0], 1, 1]),
            .. d.Take(d.Count - 1).Select((width, i) => ($"down_blocks.{i}.0.conv1.weight", new long[] { width, width, 3, 3 })),
        ];
    }
}
