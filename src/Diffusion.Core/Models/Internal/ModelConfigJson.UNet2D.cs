using System.Text.Json;

namespace Diffusion.Models.Internal;

/// <summary>The <c>config.json</c> of diffusers' <c>UNet2DModel</c>.</summary>
internal static partial class ModelConfigJson
{
    private static readonly ConfigKey<UNet2DModelConfig>[] UNet2DKeys =
    [
        new("sample_size", c => c.SampleSize, (c, k, v) => c with { SampleSize = SampleSize(k, v) }),
        new("in_channels", c => c.InChannels, (c, k, v) => c with { InChannels = Int(k, v) }),
        new("out_channels", c => c.OutChannels, (c, k, v) => c with { OutChannels = Int(k, v) }),
        new("center_input_sample", c => c.CenterInputSample, (c, k, v) => c with { CenterInputSample = Bool(k, v) }),
        new("time_embedding_type", c => c.TimeEmbeddingType, (c, k, v) => c with { TimeEmbeddingType = Enum<TimeEmbeddingType>(k, v) }),
        new("time_embedding_dim", c => c.TimeEmbeddingDim, (c, k, v) => c with { TimeEmbeddingDim = NullableInt(k, v) }),
        new("freq_shift", c => c.FreqShift, (c, k, v) => c with { FreqShift = Int(k, v) }),
        new("flip_sin_to_cos", c => c.FlipSinToCos, (c, k, v) => c with { FlipSinToCos = Bool(k, v) }),
        new("down_block_types", c => c.DownBlockTypes, (c, k, v) => c with { DownBlockTypes = Strings(k, v) }),
        new("mid_block_type", c => c.MidBlockType, (c, k, v) => c with { MidBlockType = NullableString(k, v) }),
        new("up_block_types", c => c.UpBlockTypes, (c, k, v) => c with { UpBlockTypes = Strings(k, v) }),
        new("block_out_channels", c => c.BlockOutChannels, (c, k, v) => c with { BlockOutChannels = Ints(k, v) }),
        new("layers_per_block", c => c.LayersPerBlock, (c, k, v) => c with { LayersPerBlock = Int(k, v) }),
        new("mid_block_scale_factor", c => c.MidBlockScaleFactor, (c, k, v) => c with { MidBlockScaleFactor = Double(k, v) }),
        new("downsample_padding", c => c.DownsamplePadding, (c, k, v) => c with { DownsamplePadding = Int(k, v) }),
        new("downsample_type", c => c.DownsampleType, (c, k, v) => c with { DownsampleType = Enum<ResampleType>(k, v) }),
        new("upsample_type", c => c.UpsampleType, (c, k, v) => c with { UpsampleType = Enum<ResampleType>(k, v) }),
        new("dropout", c => c.Dropout, (c, k, v) => c with { Dropout = Double(k, v) }),
        new("act_fn", c => c.ActFn, (c, k, v) => c with { ActFn = Enum<ActivationFunction>(k, v) }),
        new("attention_head_dim", c => c.AttentionHeadDim, (c, k, v) => c with { AttentionHeadDim = NullableInt(k, v) }),
        new("norm_num_groups", c => c.NormNumGroups, (c, k, v) => c with { NormNumGroups = Int(k, v) }),
        new("attn_norm_num_groups", c => c.AttnNormNumGroups, (c, k, v) => c with { AttnNormNumGroups = NullableInt(k, v) }),
        new("norm_eps", c => c.NormEps, (c, k, v) => c with { NormEps = Double(k, v) }),
        new("resnet_time_scale_shift", c => c.ResnetTimeScaleShift, (c, k, v) => c with { ResnetTimeScaleShift = Enum<ResnetTimeScaleShift>(k, v) }),
        new("add_attention", c => c.AddAttention, (c, k, v) => c with { AddAttention = Bool(k, v) }),
        new("class_embed_type", c => c.ClassEmbedType, (c, k, v) => c with { ClassEmbedType = v.ValueKind == JsonValueKind.Null ? null : Enum<ClassEmbedType>(k, v) }),
        new("num_class_embeds", c => c.NumClassEmbeds, (c, k, v) => c with { NumClassEmbeds = NullableInt(k, v) }),
        new("num_train_timesteps", c => c.NumTrainTimesteps, (c, k, v) => c with { NumTrainTimesteps = NullableInt(k, v) }),
    ];

    public static UNet2DModelConfig ReadUNet2D(string json, ICollection<string>? unknownKeys) => Read(json, unknownKeys, UNet2DKeys);

    public static string WriteUNet2D(UNet2DModelConfig c) => Write(c, UNet2DKeys, "UNet2DModel", diffusersClass: true);

    /// <summary>One line naming every field and its value, for <c>ToString</c>.</summary>
    public static string Describe(UNet2DModelConfig c) => Describe(WriteUNet2D(c));
}
