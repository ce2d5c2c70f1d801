using Diffusion.IO;
using Diffusion.Models.Internal;
using Microsoft.Extensions.Logging;

namespace Diffusion.Models;

/// <summary>Loading and saving diffusers model folders.</summary>
public sealed partial class AutoencoderKL : IPretrainedFolderModel<AutoencoderKL, AutoencoderKLConfig>
{
    /// <summary>Configuration file name in a diffusers model folder.</summary>
    public const string ConfigFileName = PretrainedFolder.ConfigFileName;

    /// <summary>The weights file <see cref="SavePretrained"/> writes (and <see cref="FromPretrained"/> looks for first).</summary>
    public const string WeightsFileName = DiffusersWeights.SafeTensorsFileName;

    /// <summary>
    /// Opens a diffusers <c>AutoencoderKL</c> folder, such as the <c>vae/</c> folder of a Stable Diffusion download:
    /// <c>config.json</c> and the weights, <c>diffusion_pytorch_model.safetensors</c>, else
    /// <c>diffusion_pytorch_model.fp16.safetensors</c>, else <c>diffusion_pytorch_model.bin</c> (PyTorch's pickle, read
    /// without running code from it). Safetensors are copied in one tensor at a time, so loading never holds the model twice.
    /// </summary>
    /// <remarks>
    /// Missing config keys take diffusers' defaults; keys starting with "_" are metadata; other unknown keys are logged
    /// and ignored. The mid blocks' old attention weight names (<c>query</c>, <c>key</c>, <c>value</c>, <c>proj_attn</c>)
    /// are renamed to <c>to_q</c>, <c>to_k</c>, <c>to_v</c>, <c>to_out.0</c> as diffusers renames them. The model is in eval mode.
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
    public static AutoencoderKL FromPretrained(string directory, Device? device = null, ScalarType? dtype = null, ILoggerFactory? loggerFactory = null) =>
        PretrainedFolder.Open<AutoencoderKL, AutoencoderKLConfig>(directory, device, dtype, loggerFactory);

    /// <summary>
    /// Writes the model as a diffusers folder: <c>config.json</c> (with <c>_class_name</c> <c>"AutoencoderKL"</c> and
    /// <c>_diffusers_version</c>) and <c>diffusion_pytorch_model.safetensors</c> in the weights' current dtype, each
    /// written to a temporary name and renamed. diffusers' <c>AutoencoderKL.from_pretrained(directory)</c> opens it.
    /// </summary>
    /// <param name="directory">The folder; created if needed. Files of those names are replaced.</param>
    /// <exception cref="IOException">A file could not be written (the previous one, if any, is unchanged).</exception>
    public void SavePretrained(string directory) => PretrainedFolder.Save(this, directory);

    /// <inheritdoc />
    public string ToConfigJson() => Config.ToJson();

    // What PretrainedFolder.Open needs to know about this class.
    static AutoencoderKL IPretrainedFolderModel<AutoencoderKL, AutoencoderKLConfig>.Create(AutoencoderKLConfig config, ScalarType? dtype) => new(config, dtype: dtype);

    // The sizes config.json names, against the weights file's header, before the model is built (a wrong digit in
    // block_out_channels, layers_per_block or latent_channels must not allocate more than the file holds).
    static IEnumerable<(string Key, long[] Shape)> IPretrainedFolderModel<AutoencoderKL, AutoencoderKLConfig>.ExpectedShapes(AutoencoderKLConfig c)
    {
        IReadOnlyList<int> ch = c.BlockOutChannels;
        int levels = ch.Count, layers = c.LayersPerBlock, latent = c.LatentChannels;
        var expected = new List<(string Key, long[] Shape)>
        {
            ("encoder.conv_in.weight", [ch[0], c.InChannels, 3, 3]),
            ("encoder.conv_out.weight", [2 * latent, ch[^1], 3, 3]),
            ("decoder.conv_in.weight", [ch[^1], latent, 3, 3]),
            ("decoder.conv_out.weight", [c.OutChannels, ch[0], 3, 3]),
        };
        for (int i = 0; i < levels; i++)
        {
            expected.Add(($"encoder.down_blocks.{i}.resnets.{layers - 1}.conv2.weight", [ch[i], ch[i], 3, 3]));
            expected.Add(($"decoder.up_blocks.{i}.resnets.{layers}.conv2.weight", [ch[levels - 1 - i], ch[levels - 1 - i], 3, 3]));
        }

        if (c.UseQuantConv)
        {
            expected.Add(("quant_conv.weight", [2 * latent, 2 * latent, 1, 1]));
        }

        if (c.UsePostQuantConv)
        {
            expected.Add(("post_quant_conv.weight", [latent, latent, 1, 1]));
        }

        return expected;
    }
}
