using System.Text.Json;

namespace Diffusion.Models.Internal;

/// <summary>The <c>config.json</c> of diffusers' <c>UNet2DConditionModel</c>.</summary>
internal static partial class ModelConfigJson
{
    public static UNet2DConditionModelConfig ReadUNet2DCondition(string json, ICollection<string>? unknownKeys)
    {
        ArgumentNullException.ThrowIfNull(json);
        using JsonDocument document = Parse(json);
        var c = new UNet2DConditionModelConfig();
        foreach (JsonProperty item in document.RootElement.EnumerateObject())
        {
            string key = item.Name;
            JsonElement v = item.Value;
            switch (key)
            {
                case "sample_size": c = c with { SampleSize = SampleSize(key, v) }; break;
                case "in_channels": c = c with { InChannels = Int(key, v) }; break;
                case "out_channels": c = c with { OutChannels = Int(key, v) }; break;
                case "center_input_sample": c = c with { CenterInputSample = Bool(key, v) }; break;
                case "flip_sin_to_cos": c = c with { FlipSinToCos = Bool(key, v) }; break;
                case "freq_shift": c = c with { FreqShift = Int(key, v) }; break;
                case "down_block_types": c = c with { DownBlockTypes = Strings(key, v) }; break;
                case "mid_block_type": c = c with { MidBlockType = NullableString(key, v) }; break;
                case "up_block_types": c = c with { UpBlockTypes = Strings(key, v) }; break;
                case "only_cross_attention": c = c with { OnlyCrossAttention = BoolOrBools(key, v) }; break;
                case "block_out_channels": c = c with { BlockOutChannels = Ints(key, v) }; break;
                case "layers_per_block": c = c with { LayersPerBlock = IntOrInts(key, v) }; break;
                case "downsample_padding": c = c with { DownsamplePadding = Int(key, v) }; break;
                case "mid_block_scale_factor": c = c with { MidBlockScaleFactor = Double(key, v) }; break;
                case "dropout": c = c with { Dropout = Double(key, v) }; break;
                case "act_fn": c = c with { ActFn = Enum<ActivationFunction>(key, v) }; break;
                case "norm_num_groups": c = c with { NormNumGroups = NullableInt(key, v) }; break;
                case "norm_eps": c = c with { NormEps = Double(key, v) }; break;
                case "cross_attention_dim": c = c with { CrossAttentionDim = IntOrInts(key, v) }; break;
                case "transformer_layers_per_block": c = c with { TransformerLayersPerBlock = IntOrInts(key, v) }; break;
                case "reverse_transformer_layers_per_block": c = c with { ReverseTransformerLayersPerBlock = NestedInts(key, v) }; break;
                case "attention_head_dim": c = c with { AttentionHeadDim = IntOrInts(key, v) }; break;
                case "num_attention_heads": c = c with { NumAttentionHeads = v.ValueKind == JsonValueKind.Null ? null : IntOrInts(key, v) }; break;
                case "use_linear_projection": c = c with { UseLinearProjection = Bool(key, v) }; break;
                case "upcast_attention": c = c with { UpcastAttention = Bool(key, v) }; break;
                case "resnet_time_scale_shift": c = c with { ResnetTimeScaleShift = Enum<ResnetTimeScaleShift>(key, v) }; break;
                case "time_embedding_type": c = c with { TimeEmbeddingType = Enum<TimeEmbeddingType>(key, v) }; break;
                case "time_embedding_dim": c = c with { TimeEmbeddingDim = NullableInt(key, v) }; break;
                case "conv_in_kernel": c = c with { ConvInKernel = Int(key, v) }; break;
                case "conv_out_kernel": c = c with { ConvOutKernel = Int(key, v) }; break;
                case "mid_block_only_cross_attention": c = c with { MidBlockOnlyCrossAttention = v.ValueKind == JsonValueKind.Null ? null : Bool(key, v) }; break;
                case "resnet_skip_time_act": c = c with { ResnetSkipTimeAct = Bool(key, v) }; break;
                case "resnet_out_scale_factor": c = c with { ResnetOutScaleFactor = Double(key, v) }; break;
                case "cross_attention_norm": c = c with { CrossAttentionNorm = NullableString(key, v) }; break;
                case "addition_embed_type_num_heads": c = c with { AdditionEmbedTypeNumHeads = Int(key, v) }; break;
                case "encoder_hid_dim": c = c with { EncoderHidDim = NullableInt(key, v) }; break;
                case "encoder_hid_dim_type": c = c with { EncoderHidDimType = NullableString(key, v) }; break;
                case "dual_cross_attention": c = c with { DualCrossAttention = Bool(key, v) }; break;
                case "class_embed_type": c = c with { ClassEmbedType = NullableString(key, v) }; break;
                case "addition_embed_type": c = c with { AdditionEmbedType = NullableString(key, v) }; break;
                case "addition_time_embed_dim": c = c with { AdditionTimeEmbedDim = NullableInt(key, v) }; break;
                case "num_class_embeds": c = c with { NumClassEmbeds = NullableInt(key, v) }; break;
                case "time_embedding_act_fn": c = c with { TimeEmbeddingActFn = NullableString(key, v) }; break;
                case "timestep_post_act": c = c with { TimestepPostAct = NullableString(key, v) }; break;
                case "time_cond_proj_dim": c = c with { TimeCondProjDim = NullableInt(key, v) }; break;
                case "projection_class_embeddings_input_dim": c = c with { ProjectionClassEmbeddingsInputDim = NullableInt(key, v) }; break;
                case "attention_type": c = c with { AttentionType = NullableString(key, v) ?? "default" }; break;
                case "class_embeddings_concat": c = c with { ClassEmbeddingsConcat = Bool(key, v) }; break;
                default:
                    if (!key.StartsWith('_'))
                    {
                        unknownKeys?.Add(key);
                    }

                    break;
            }
        }

        return c;
    }

    public static string WriteUNet2DCondition(UNet2DConditionModelConfig c)
    {
        var fields = new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["_class_name"] = "UNet2DConditionModel",
            ["_diffusers_version"] = DiffusersVersion,
            ["sample_size"] = c.SampleSize,
            ["in_channels"] = c.InChannels,
            ["out_channels"] = c.OutChannels,
            ["center_input_sample"] = c.CenterInputSample,
            ["flip_sin_to_cos"] = c.FlipSinToCos,
            ["freq_shift"] = c.FreqShift,
            ["down_block_types"] = c.DownBlockTypes,
            ["mid_block_type"] = c.MidBlockType,
            ["up_block_types"] = c.UpBlockTypes,
            ["only_cross_attention"] = OneOrAll(c.OnlyCrossAttention),
            ["block_out_channels"] = c.BlockOutChannels,
            ["layers_per_block"] = OneOrAll(c.LayersPerBlock),
            ["downsample_padding"] = c.DownsamplePadding,
            ["mid_block_scale_factor"] = c.MidBlockScaleFactor,
            ["dropout"] = c.Dropout,
            ["act_fn"] = c.ActFn,
            ["norm_num_groups"] = c.NormNumGroups,
            ["norm_eps"] = c.NormEps,
            ["cross_attention_dim"] = OneOrAll(c.CrossAttentionDim),
            ["transformer_layers_per_block"] = OneOrAll(c.TransformerLayersPerBlock),
            ["reverse_transformer_layers_per_block"] = c.ReverseTransformerLayersPerBlock,
            ["encoder_hid_dim"] = c.EncoderHidDim,
            ["encoder_hid_dim_type"] = c.EncoderHidDimType,
            ["attention_head_dim"] = OneOrAll(c.AttentionHeadDim),
            ["num_attention_heads"] = c.NumAttentionHeads is null ? null : OneOrAll(c.NumAttentionHeads),
            ["dual_cross_attention"] = c.DualCrossAttention,
            ["use_linear_projection"] = c.UseLinearProjection,
            ["class_embed_type"] = c.ClassEmbedType,
            ["addition_embed_type"] = c.AdditionEmbedType,
            ["addition_time_embed_dim"] = c.AdditionTimeEmbedDim,
            ["num_class_embeds"] = c.NumClassEmbeds,
            ["upcast_attention"] = c.UpcastAttention,
            ["resnet_time_scale_shift"] = c.ResnetTimeScaleShift,
            ["resnet_skip_time_act"] = c.ResnetSkipTimeAct,
            ["resnet_out_scale_factor"] = c.ResnetOutScaleFactor,
            ["time_embedding_type"] = c.TimeEmbeddingType,
            ["time_embedding_dim"] = c.TimeEmbeddingDim,
            ["time_embedding_act_fn"] = c.TimeEmbeddingActFn,
            ["timestep_post_act"] = c.TimestepPostAct,
            ["time_cond_proj_dim"] = c.TimeCondProjDim,
            ["conv_in_kernel"] = c.ConvInKernel,
            ["conv_out_kernel"] = c.ConvOutKernel,
            ["projection_class_embeddings_input_dim"] = c.ProjectionClassEmbeddingsInputDim,
            ["attention_type"] = c.AttentionType,
            ["class_embeddings_concat"] = c.ClassEmbeddingsConcat,
            ["mid_block_only_cross_attention"] = c.MidBlockOnlyCrossAttention,
            ["cross_attention_norm"] = c.CrossAttentionNorm,
            ["addition_embed_type_num_heads"] = c.AdditionEmbedTypeNumHeads,
        };
        return WriteObject(fields);
    }

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
