using System.Text.Json;

namespace Diffusion.Models.Internal;

/// <summary>The <c>config.json</c> of diffusers' <c>UNet2DConditionModel</c>.</summary>
internal static partial class ModelConfigJson
{
    private static readonly ConfigKey<UNet2DConditionModelConfig>[] UNet2DConditionKeys =
    [
        new("sample_size", c => c.SampleSize, (c, k, v) => c with { SampleSize = SampleSize(k, v) }),
        new("in_channels", c => c.InChannels, (c, k, v) => c with { InChannels = Int(k, v) }),
        new("out_channels", c => c.OutChannels, (c, k, v) => c with { OutChannels = Int(k, v) }),
        new("center_input_sample", c => c.CenterInputSample, (c, k, v) => c with { CenterInputSample = Bool(k, v) }),
        new("flip_sin_to_cos", c => c.FlipSinToCos, (c, k, v) => c with { FlipSinToCos = Bool(k, v) }),
        new("freq_shift", c => c.FreqShift, (c, k, v) => c with { FreqShift = Int(k, v) }),
        new("down_block_types", c => c.DownBlockTypes, (c, k, v) => c with { DownBlockTypes = Strings(k, v) }),
        new("mid_block_type", c => c.MidBlockType, (c, k, v) => c with { MidBlockType = NullableString(k, v) }),
        new("up_block_types", c => c.UpBlockTypes, (c, k, v) => c with { UpBlockTypes = Strings(k, v) }),
        new("only_cross_attention", c => OneOrAll(c.OnlyCrossAttention), (c, k, v) => c with { OnlyCrossAttention = BoolOrBools(k, v) }),
        new("block_out_channels", c => c.BlockOutChannels, (c, k, v) => c with { BlockOutChannels = Ints(k, v) }),
        new("layers_per_block", c => OneOrAll(c.LayersPerBlock), (c, k, v) => c with { LayersPerBlock = IntOrInts(k, v) }),
        new("downsample_padding", c => c.DownsamplePadding, (c, k, v) => c with { DownsamplePadding = Int(k, v) }),
        new("mid_block_scale_factor", c => c.MidBlockScaleFactor, (c, k, v) => c with { MidBlockScaleFactor = Double(k, v) }),
        new("dropout", c => c.Dropout, (c, k, v) => c with { Dropout = Double(k, v) }),
        new("act_fn", c => c.ActFn, (c, k, v) => c with { ActFn = Enum<ActivationFunction>(k, v) }),
        new("norm_num_groups", c => c.NormNumGroups, (c, k, v) => c with { NormNumGroups = NullableInt(k, v) }),
        new("norm_eps", c => c.NormEps, (c, k, v) => c with { NormEps = Double(k, v) }),
        new("cross_attention_dim", c => OneOrAll(c.CrossAttentionDim), (c, k, v) => c with { CrossAttentionDim = IntOrInts(k, v) }),
        new("transformer_layers_per_block", c => OneOrAll(c.TransformerLayersPerBlock), (c, k, v) => c with { TransformerLayersPerBlock = IntOrInts(k, v) }),
        new("reverse_transformer_layers_per_block", c => c.ReverseTransformerLayersPerBlock, (c, k, v) => c with { ReverseTransformerLayersPerBlock = NestedInts(k, v) }),
        new("attention_head_dim", c => OneOrAll(c.AttentionHeadDim), (c, k, v) => c with { AttentionHeadDim = IntOrInts(k, v) }),
        new("num_attention_heads", c => c.NumAttentionHeads is null ? null : OneOrAll(c.NumAttentionHeads), (c, k, v) => c with { NumAttentionHeads = v.ValueKind == JsonValueKind.Null ? null : IntOrInts(k, v) }),
        new("use_linear_projection", c => c.UseLinearProjection, (c, k, v) => c with { UseLinearProjection = Bool(k, v) }),
        new("upcast_attention", c => c.UpcastAttention, (c, k, v) => c with { UpcastAttention = Bool(k, v) }),
        new("resnet_time_scale_shift", c => c.ResnetTimeScaleShift, (c, k, v) => c with { ResnetTimeScaleShift = Enum<ResnetTimeScaleShift>(k, v) }),
        new("time_embedding_type", c => c.TimeEmbeddingType, (c, k, v) => c with { TimeEmbeddingType = Enum<TimeEmbeddingType>(k, v) }),
        new("time_embedding_dim", c => c.TimeEmbeddingDim, (c, k, v) => c with { TimeEmbeddingDim = NullableInt(k, v) }),
        new("conv_in_kernel", c => c.ConvInKernel, (c, k, v) => c with { ConvInKernel = Int(k, v) }),
        new("conv_out_kernel", c => c.ConvOutKernel, (c, k, v) => c with { ConvOutKernel = Int(k, v) }),
        new("mid_block_only_cross_attention", c => c.MidBlockOnlyCrossAttention, (c, k, v) => c with { MidBlockOnlyCrossAttention = v.ValueKind == JsonValueKind.Null ? null : Bool(k, v) }),
        new("resnet_skip_time_act", c => c.ResnetSkipTimeAct, (c, k, v) => c with { ResnetSkipTimeAct = Bool(k, v) }),
        new("resnet_out_scale_factor", c => c.ResnetOutScaleFactor, (c, k, v) => c with { ResnetOutScaleFactor = Double(k, v) }),
        new("cross_attention_norm", c => c.CrossAttentionNorm, (c, k, v) => c with { CrossAttentionNorm = NullableString(k, v) }),
        new("addition_embed_type_num_heads", c => c.AdditionEmbedTypeNumHeads, (c, k, v) => c with { AdditionEmbedTypeNumHeads = Int(k, v) }),
        new("encoder_hid_dim", c => c.EncoderHidDim, (c, k, v) => c with { EncoderHidDim = NullableInt(k, v) }),
        new("encoder_hid_dim_type", c => c.EncoderHidDimType, (c, k, v) => c with { EncoderHidDimType = NullableString(k, v) }),
        new("dual_cross_attention", c => c.DualCrossAttention, (c, k, v) => c with { DualCrossAttention = Bool(k, v) }),
        new("class_embed_type", c => c.ClassEmbedType, (c, k, v) => c with { ClassEmbedType = NullableString(k, v) }),
        new("addition_embed_type", c => c.AdditionEmbedType, (c, k, v) => c with { AdditionEmbedType = NullableString(k, v) }),
        new("addition_time_embed_dim", c => c.AdditionTimeEmbedDim, (c, k, v) => c with { AdditionTimeEmbedDim = NullableInt(k, v) }),
        new("num_class_embeds", c => c.NumClassEmbeds, (c, k, v) => c with { NumClassEmbeds = NullableInt(k, v) }),
        new("time_embedding_act_fn", c => c.TimeEmbeddingActFn, (c, k, v) => c with { TimeEmbeddingActFn = NullableString(k, v) }),
        new("timestep_post_act", c => c.TimestepPostAct, (c, k, v) => c with { TimestepPostAct = NullableString(k, v) }),
        new("time_cond_proj_dim", c => c.TimeCondProjDim, (c, k, v) => c with { TimeCondProjDim = NullableInt(k, v) }),
        new("projection_class_embeddings_input_dim", c => c.ProjectionClassEmbeddingsInputDim, (c, k, v) => c with { ProjectionClassEmbeddingsInputDim = NullableInt(k, v) }),
        new("attention_type", c => c.AttentionType, (c, k, v) => c with { AttentionType = NullableString(k, v) ?? "default" }),
        new("class_embeddings_concat", c => c.ClassEmbeddingsConcat, (c, k, v) => c with { ClassEmbeddingsConcat = Bool(k, v) }),
    ];

    public static UNet2DConditionModelConfig ReadUNet2DCondition(string json, ICollection<string>? unknownKeys) => Read(json, unknownKeys, UNet2DConditionKeys);

    public static string WriteUNet2DCondition(UNet2DConditionModelConfig c) => Write(c, UNet2DConditionKeys, "UNet2DConditionModel", diffusersClass: true);

    /// <summary>One line naming every field and its value, for <c>ToString</c>.</summary>
    public static string Describe(UNet2DConditionModelConfig c) => Describe(WriteUNet2DCondition(c));

    /// <summary>diffusers' "a number or one per block": a one-entry list is written as the number.</summary>
    private static object? OneOrAll<T>(IReadOnlyList<T> values) => values is { Count: 1 } ? values[0] : values;

    private static IReadOnlyList<int> IntOrInts(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Array ? Ints(key, v) : v.ValueKind == JsonValueKind.Number ? [Int(key, v)] : throw Wrong(key, "a whole number or an array of them", v);

    private static IReadOnlyList<bool> BoolOrBools(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Select(e => e.ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetBoolean() : throw Wrong(key, "true, false or an array of them", v))]
            : [Bool(key, v)];

    private static IReadOnlyList<IReadOnlyList<int>>? NestedInts(string key, JsonElement v) =>
        v.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.Array => [.. v.EnumerateArray().Select(e => IntOrInts(key, e))],
            _ => throw Wrong(key, "null or an array of arrays of whole numbers", v),
        };
}
