using System.Globalization;
using Diffusion.Schedulers.Internal;

namespace Diffusion.Models.Internal;

/// <summary>The rules of <see cref="UNet2DConditionModelConfig.GetViolations"/>: what diffusers' constructor checks,
/// what this library can build, and bounds that keep a damaged config from asking for terabytes.</summary>
internal static class UNet2DConditionConfigRules
{
    private const int MaxChannels = ModelConfigRules.MaxChannels;

    /// <summary>Adds a message for every rule of <paramref name="c"/>'s own fields and levels (the shared U-Net fields' rules
    /// come from <see cref="DiffusersUNetConfig"/>).</summary>
    public static void Check(UNet2DConditionModelConfig c, List<string> errors)
    {
        if (c.NormNumGroups is not { } groups)
        {
            errors.Add("NormNumGroups (norm_num_groups) must be set: this library builds every block with GroupNorm; got null");
        }
        else
        {
            Range(errors, nameof(c.NormNumGroups), "norm_num_groups", groups, 1, MaxChannels);
        }

        foreach ((string name, string key, int kernel) in new[] { (nameof(c.ConvInKernel), "conv_in_kernel", c.ConvInKernel), (nameof(c.ConvOutKernel), "conv_out_kernel", c.ConvOutKernel) })
        {
            if (kernel < 1 || kernel > 15 || kernel % 2 == 0)
            {
                errors.Add($"{name} ({key}) must be odd and in [1, 15] (the convolution keeps the size); got {kernel}");
            }
        }

        if (c.TimeEmbeddingType != TimeEmbeddingType.Positional)
        {
            errors.Add($"TimeEmbeddingType (time_embedding_type) must be \"positional\": this library's UNet2DConditionModel builds only the sinusoidal embedding; got {c.TimeEmbeddingType}");
        }

        bool channelsOk = CheckChannels(c, errors);
        CheckBlockTypes(c, errors);
        CheckPerLevel(c, errors);
        if (channelsOk && c.BlockOutChannels[0] / 2 - c.FreqShift == 0)
        {
            errors.Add($"FreqShift (freq_shift) must differ from BlockOutChannels[0] / 2 ({c.BlockOutChannels[0] / 2}): it divides the frequency exponent; got {c.FreqShift}");
        }

        CheckUnsupported(c, errors);
    }

    private static bool CheckChannels(UNet2DConditionModelConfig c, List<string> errors) =>
        ModelConfigRules.BlockOutChannels(errors, c.BlockOutChannels, c.NormNumGroups ?? 0) && c.BlockOutChannels.All(ch => ch >= 1);

    private static void CheckBlockTypes(UNet2DConditionModelConfig c, List<string> errors)
    {
        int levels = c.BlockOutChannels?.Count ?? 0;
        CheckTypes(errors, nameof(c.DownBlockTypes), "down_block_types", c.DownBlockTypes, UNet2DConditionModelConfig.DownTypes, levels);
        CheckTypes(errors, nameof(c.UpBlockTypes), "up_block_types", c.UpBlockTypes, UNet2DConditionModelConfig.UpTypes, levels);
        if (c.MidBlockType is not null && c.MidBlockType != UNet2DConditionModelConfig.MidCrossAttn)
        {
            errors.Add($"MidBlockType (mid_block_type) must be \"{UNet2DConditionModelConfig.MidCrossAttn}\" or null (the blocks this library builds); got \"{c.MidBlockType}\"");
        }
    }

    private static void CheckTypes(List<string> errors, string name, string key, IReadOnlyList<string>? types, IReadOnlySet<string> supported, int levels)
    {
        if (!ModelConfigRules.OnePerLevel(errors, name, key, types, levels))
        {
            return;
        }

        for (int i = 0; i < types.Count; i++)
        {
            if (!supported.Contains(UNet2DModelConfig.BlockName(types[i] ?? "null")))
            {
                errors.Add($"{name}[{i}] ({key}) must be one of {string.Join(", ", supported.Select(s => "\"" + s + "\""))} (the blocks this library builds); got \"{types[i]}\"");
            }
        }
    }

    private static void CheckPerLevel(UNet2DConditionModelConfig c, List<string> errors)
    {
        int levels = c.BlockOutChannels?.Count ?? 0;
        bool layersOk = Count(errors, nameof(c.LayersPerBlock), "layers_per_block", c.LayersPerBlock, levels);
        bool crossOk = Count(errors, nameof(c.CrossAttentionDim), "cross_attention_dim", c.CrossAttentionDim, levels);
        bool transformersOk = Count(errors, nameof(c.TransformerLayersPerBlock), "transformer_layers_per_block", c.TransformerLayersPerBlock, levels);
        bool headsOk = Count(errors, nameof(c.AttentionHeadDim), "attention_head_dim", c.AttentionHeadDim, levels);
        Count(errors, nameof(c.OnlyCrossAttention), "only_cross_attention", c.OnlyCrossAttention, levels);
        if (layersOk)
        {
            Each(errors, nameof(c.LayersPerBlock), "layers_per_block", c.LayersPerBlock, 1, 64);
        }

        if (transformersOk)
        {
            Each(errors, nameof(c.TransformerLayersPerBlock), "transformer_layers_per_block", c.TransformerLayersPerBlock, 1, 64);
        }

        if (crossOk && Each(errors, nameof(c.CrossAttentionDim), "cross_attention_dim", c.CrossAttentionDim, 1, MaxChannels) && c.CrossAttentionDim.Distinct().Count() > 1)
        {
            errors.Add($"CrossAttentionDim (cross_attention_dim) entries must all be equal: one encoder state feeds every block (diffusers needs an encoder projection otherwise); got {Describe(c.CrossAttentionDim)}");
        }

        if (!headsOk || !Each(errors, nameof(c.AttentionHeadDim), "attention_head_dim", c.AttentionHeadDim, 1, MaxChannels) || levels == 0
            || c.BlockOutChannels!.Any(ch => ch < 1) || c.DownBlockTypes?.Count != levels || c.UpBlockTypes?.Count != levels
            || c.DownBlockTypes.Any(t => t is null) || c.UpBlockTypes.Any(t => t is null))
        {
            return;
        }

        // Each transformer's head width is channels / heads (diffusers: out_channels // num_attention_heads): at least 1.
        for (int i = 0; i < levels; i++)
        {
            int heads = UNet2DConditionModelConfig.At(c.AttentionHeadDim, i), channels = c.BlockOutChannels![i];
            bool attends = c.DownAttends(i) || c.UpAttends(levels - 1 - i) || (i == levels - 1 && c.MidBlockType is not null);
            if (attends && heads > channels)
            {
                errors.Add($"AttentionHeadDim[{i}] (attention_head_dim, the number of heads in this class) must not exceed the level's channels ({channels}): each head needs at least one channel; got {heads}");
            }
        }
    }

    private static void CheckUnsupported(UNet2DConditionModelConfig c, List<string> errors)
    {
        void Refuse(bool set, string name, string key, string what, string mustBe, object? value)
        {
            if (set)
            {
                string shown = value switch
                {
                    null => "null",
                    string s => "\"" + s + "\"",
                    bool b => b ? "true" : "false",
                    IEnumerable<int> list => Describe([.. list]),
                    IEnumerable<IReadOnlyList<int>> nested => "[" + string.Join(", ", nested.Select(l => Describe(l))) + "]",
                    IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                    _ => value.ToString() ?? "",
                };
                errors.Add($"{name} ({key}) is not supported by this library's UNet2DConditionModel ({what}): it must be {mustBe}; got {shown}");
            }
        }

        Refuse(c.NumAttentionHeads is not null, nameof(c.NumAttentionHeads), "num_attention_heads",
            "diffusers refuses it too; attention_head_dim is the number of heads", "null", c.NumAttentionHeads);
        Refuse(c.ReverseTransformerLayersPerBlock is not null, nameof(c.ReverseTransformerLayersPerBlock), "reverse_transformer_layers_per_block",
            "asymmetric up-path transformers", "null", c.ReverseTransformerLayersPerBlock);
        Refuse(c.EncoderHidDim is not null, nameof(c.EncoderHidDim), "encoder_hid_dim", "an encoder-state projection", "null", c.EncoderHidDim);
        Refuse(c.EncoderHidDimType is not null, nameof(c.EncoderHidDimType), "encoder_hid_dim_type", "an encoder-state projection", "null", c.EncoderHidDimType);
        Refuse(c.DualCrossAttention, nameof(c.DualCrossAttention), "dual_cross_attention", "Versatile Diffusion's dual transformers", "false", true);
        Refuse(c.ClassEmbedType is not null, nameof(c.ClassEmbedType), "class_embed_type", "class embeddings", "null", c.ClassEmbedType);
        Refuse(c.NumClassEmbeds is not null, nameof(c.NumClassEmbeds), "num_class_embeds", "class embeddings", "null", c.NumClassEmbeds);
        Refuse(c.ClassEmbeddingsConcat, nameof(c.ClassEmbeddingsConcat), "class_embeddings_concat", "class embeddings", "false", true);
        Refuse(c.ProjectionClassEmbeddingsInputDim is not null, nameof(c.ProjectionClassEmbeddingsInputDim), "projection_class_embeddings_input_dim",
            "class or added embeddings (SDXL)", "null", c.ProjectionClassEmbeddingsInputDim);
        Refuse(c.AdditionEmbedType is not null, nameof(c.AdditionEmbedType), "addition_embed_type", "added embeddings such as SDXL's text_time", "null", c.AdditionEmbedType);
        Refuse(c.AdditionTimeEmbedDim is not null, nameof(c.AdditionTimeEmbedDim), "addition_time_embed_dim", "SDXL's added time embedding", "null", c.AdditionTimeEmbedDim);
        Refuse(c.TimeEmbeddingActFn is not null, nameof(c.TimeEmbeddingActFn), "time_embedding_act_fn", "an activation after the time embedding", "null", c.TimeEmbeddingActFn);
        Refuse(c.TimestepPostAct is not null, nameof(c.TimestepPostAct), "timestep_post_act", "an activation inside the time embedding", "null", c.TimestepPostAct);
        Refuse(c.TimeCondProjDim is not null, nameof(c.TimeCondProjDim), "time_cond_proj_dim", "a guidance-scale embedding (LCM)", "null", c.TimeCondProjDim);
        Refuse(c.AttentionType != "default", nameof(c.AttentionType), "attention_type", "GLIGEN's gated attention", "\"default\"", c.AttentionType);
    }

    private static bool Count<T>(List<string> errors, string name, string key, IReadOnlyList<T>? values, int levels)
    {
        if (values is null || (values.Count != 1 && values.Count != levels))
        {
            errors.Add($"{name} ({key}) must have one entry, or one per BlockOutChannels entry ({levels}); got {values?.Count.ToString(CultureInfo.InvariantCulture) ?? "null"}");
            return false;
        }

        return true;
    }

    private static bool Each(List<string> errors, string name, string key, IReadOnlyList<int> values, int min, int max)
    {
        bool ok = true;
        for (int i = 0; i < values.Count; i++)
        {
            if (values[i] < min || values[i] > max)
            {
                errors.Add($"{name}[{i}] ({key}) must lie in [{min}, {max}]; got {values[i]}");
                ok = false;
            }
        }

        return ok;
    }

    private static void Range(List<string> errors, string name, string key, int value, int min, int max) => ModelConfigRules.Range(errors, name, key, value, min, max);

    private static string Describe(IReadOnlyList<int>? values) => ModelConfigRules.Describe(values);
}
