using Diffusion.IO;
using Diffusion.Models.Blocks;
using Diffusion.Models.Internal;
using Microsoft.Extensions.Logging;

namespace Diffusion.Models;

/// <summary>Loading and saving diffusers model folders.</summary>
public sealed partial class UNet2DConditionModel : IPretrainedFolderModel<UNet2DConditionModel, UNet2DConditionModelConfig>
{
    /// <summary>Configuration file name in a diffusers model folder.</summary>
    public const string ConfigFileName = PretrainedFolder.ConfigFileName;

    /// <summary>The weights file <see cref="SavePretrained"/> writes (and <see cref="FromPretrained"/> looks for first).</summary>
    public const string WeightsFileName = DiffusersWeights.SafeTensorsFileName;

    /// <summary>
    /// Opens a diffusers <c>UNet2DConditionModel</c> folder, such as the <c>unet/</c> folder of a Stable Diffusion 1.x or
    /// 2.x download: <c>config.json</c> and the weights, <c>diffusion_pytorch_model.safetensors</c>, else
    /// <c>diffusion_pytorch_model.fp16.safetensors</c>, else <c>diffusion_pytorch_model.bin</c> (PyTorch's pickle, read
    /// without running code from it). Safetensors are copied in one tensor at a time, so SD 1.5's 3.4 GB U-Net needs
    /// about its own size in memory, not twice.
    /// </summary>
    /// <remarks>
    /// Missing config keys take diffusers' defaults; keys starting with "_" are metadata; other unknown keys are logged
    /// and ignored. Keys of features this library does not build (SDXL's added embeddings, class embeddings, …) are
    /// refused when set (see <see cref="UNet2DConditionModelConfig"/>). The model is in eval mode.
    /// </remarks>
    /// <param name="directory">The folder.</param>
    /// <param name="device">Where to put the weights; null keeps them on the CPU.</param>
    /// <param name="dtype">The weights' element type (float32, float16 or bfloat16); null keeps float32, whatever the file holds.</param>
    /// <param name="loggerFactory">Receives a warning per ignored config key; null means none.</param>
    /// <returns>The model. The caller owns and disposes it.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>config.json</c> or all three weights files are missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, a config value has the wrong type, breaks a rule or asks for an
    /// unsupported feature, or the weights do not fit the configuration (every missing, unexpected and mis-shaped key is
    /// listed); the message names the file.</exception>
    public static UNet2DConditionModel FromPretrained(string directory, Device? device = null, ScalarType? dtype = null, ILoggerFactory? loggerFactory = null) =>
        PretrainedFolder.Open<UNet2DConditionModel, UNet2DConditionModelConfig>(directory, device, dtype, loggerFactory);

    /// <summary>
    /// Writes the model as a diffusers folder: <c>config.json</c> (with <c>_class_name</c> <c>"UNet2DConditionModel"</c>
    /// and <c>_diffusers_version</c>) and <c>diffusion_pytorch_model.safetensors</c> in the weights' current dtype, each
    /// written to a temporary name and renamed. diffusers' <c>UNet2DConditionModel.from_pretrained(directory)</c> opens it.
    /// </summary>
    /// <param name="directory">The folder; created if needed. Files of those names are replaced.</param>
    /// <exception cref="IOException">A file could not be written (the previous one, if any, is unchanged).</exception>
    public void SavePretrained(string directory) => PretrainedFolder.Save(this, directory);

    /// <inheritdoc/>
    public string ToConfigJson() => Config.ToJson();

    // What PretrainedFolder.Open needs to know about this class.
    static UNet2DConditionModel IPretrainedFolderModel<UNet2DConditionModel, UNet2DConditionModelConfig>.Create(UNet2DConditionModelConfig config, ScalarType? dtype) => new(config, dtype: dtype);

    // The sizes config.json names, against the weights file's header, before the model is built (a wrong number in
    // block_out_channels, layers_per_block or cross_attention_dim must not allocate gigabytes before failing).
    static IEnumerable<(string Key, long[] Shape)> IPretrainedFolderModel<UNet2DConditionModel, UNet2DConditionModelConfig>.ExpectedShapes(UNet2DConditionModelConfig c)
    {
        IReadOnlyList<int> ch = c.BlockOutChannels;
        int levels = ch.Count;
        List<(string Key, long[] Shape)> expected = UNet2DBody.ExpectedShapes(
            ch, c.InChannels, c.OutChannels, c.ConvInKernel, c.ConvOutKernel, level => UNet2DConditionModelConfig.At(c.LayersPerBlock, level));
        expected.Add(("time_embedding.linear_1.weight", [c.TimeEmbedDim, ch[0]]));
        for (int i = 0; i < levels; i++)
        {
            if (c.DownAttends(i))
            {
                int cross = UNet2DConditionModelConfig.At(c.CrossAttentionDim, i);
                int heads = UNet2DConditionModelConfig.At(c.AttentionHeadDim, i);
                int last = UNet2DConditionModelConfig.At(c.TransformerLayersPerBlock, i) - 1;
                expected.Add(($"down_blocks.{i}.attentions.0.transformer_blocks.{last}.attn2.to_k.weight", [heads * (ch[i] / heads), cross]));
                expected.Add(($"down_blocks.{i}.attentions.0.proj_in.weight", c.UseLinearProjection ? [heads * (ch[i] / heads), ch[i]] : [heads * (ch[i] / heads), ch[i], 1, 1]));
            }
        }

        if (c.MidBlockType is not null)
        {
            int cross = UNet2DConditionModelConfig.At(c.CrossAttentionDim, levels - 1);
            int heads = UNet2DConditionModelConfig.At(c.AttentionHeadDim, levels - 1);
            expected.Add(("mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight", [heads * (ch[^1] / heads), cross]));
        }

        return expected;
    }
}
