using Diffusion.IO;
using Diffusion.Models.Blocks;
using Diffusion.Models.Internal;
using Microsoft.Extensions.Logging;

namespace Diffusion.Models;

/// <summary>Loading and saving diffusers model folders.</summary>
public sealed partial class UNet2DModel : IPretrainedFolderModel<UNet2DModel, UNet2DModelConfig>
{
    /// <summary>Configuration file name in a diffusers model folder.</summary>
    public const string ConfigFileName = PretrainedFolder.ConfigFileName;

    /// <summary>The weights file <see cref="SavePretrained"/> writes (and <see cref="FromPretrained"/> looks for first).</summary>
    public const string WeightsFileName = DiffusersWeights.SafeTensorsFileName;

    /// <summary>
    /// Opens a diffusers <c>UNet2DModel</c> folder, such as the <c>unet/</c> folder of a download of
    /// <c>google/ddpm-cifar10-32</c>: <c>config.json</c> and the weights, <c>diffusion_pytorch_model.safetensors</c>,
    /// else <c>diffusion_pytorch_model.fp16.safetensors</c>, else <c>diffusion_pytorch_model.bin</c> (PyTorch's pickle,
    /// read without running code from it).
    /// </summary>
    /// <remarks>
    /// Missing config keys take diffusers' defaults; keys starting with "_" are metadata; other unknown keys are logged
    /// and ignored. Old attention weight names (<c>query</c>, <c>key</c>, <c>value</c>, <c>proj_attn</c>) are renamed
    /// to <c>to_q</c>, <c>to_k</c>, <c>to_v</c>, <c>to_out.0</c> as diffusers renames them. The model is in eval mode.
    /// </remarks>
    /// <param name="directory">The folder.</param>
    /// <param name="device">Where to put the weights; null keeps them on the CPU.</param>
    /// <param name="dtype">The weights' element type (float32, float16 or bfloat16); null keeps float32, whatever the file holds.</param>
    /// <param name="loggerFactory">Receives a warning per ignored config key; null means none.</param>
    /// <returns>The model. The caller owns and disposes it.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>config.json</c> or all three weights files are missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, a config value has the wrong type or breaks a rule, or the weights
    /// do not fit the configuration (every missing, unexpected and mis-shaped key is listed); the message names the file.</exception>
    public static UNet2DModel FromPretrained(string directory, Device? device = null, ScalarType? dtype = null, ILoggerFactory? loggerFactory = null) =>
        PretrainedFolder.Open<UNet2DModel, UNet2DModelConfig>(directory, device, dtype, loggerFactory);

    /// <summary>
    /// Writes the model as a diffusers folder: <c>config.json</c> (with <c>_class_name</c> <c>"UNet2DModel"</c> and
    /// <c>_diffusers_version</c>) and <c>diffusion_pytorch_model.safetensors</c> in the weights' current dtype, each
    /// written to a temporary name and renamed. diffusers' <c>UNet2DModel.from_pretrained(directory)</c> opens it.
    /// </summary>
    /// <param name="directory">The folder; created if needed. Files of those names are replaced.</param>
    /// <exception cref="IOException">A file could not be written (the previous one, if any, is unchanged).</exception>
    public void SavePretrained(string directory) => PretrainedFolder.Save(this, directory);

    /// <inheritdoc />
    public string ToConfigJson() => Config.ToJson();

    // What PretrainedFolder.Open needs to know about this class.
    static UNet2DModel IPretrainedFolderModel<UNet2DModel, UNet2DModelConfig>.Create(UNet2DModelConfig config, ScalarType? dtype) => new(config, dtype: dtype);

    // The sizes config.json names, against the weights file's header, before the model is built (a wrong digit in
    // block_out_channels or layers_per_block must not allocate more than the file holds).
    static IEnumerable<(string Key, long[] Shape)> IPretrainedFolderModel<UNet2DModel, UNet2DModelConfig>.ExpectedShapes(UNet2DModelConfig c)
    {
        IReadOnlyList<int> ch = c.BlockOutChannels;
        int tembIn = c.TimeEmbeddingType == TimeEmbeddingType.Fourier ? 2 * ch[0] : ch[0];
        List<(string Key, long[] Shape)> expected = UNet2DBody.ExpectedShapes(ch, c.InChannels, c.OutChannels, 3, 3, _ => c.LayersPerBlock);
        expected.Add(("time_embedding.linear_1.weight", [c.TimeEmbedDim, tembIn]));
        if (c.TimeEmbeddingType == TimeEmbeddingType.Learned)
        {
            expected.Add(("time_proj.weight", [c.NumTrainTimesteps!.Value, ch[0]]));
        }

        if (c.ClassEmbedType is null && c.NumClassEmbeds is { } classes)
        {
            expected.Add(("class_embedding.weight", [classes, c.TimeEmbedDim]));
        }

        return expected;
    }
}
