namespace Diffusion.Models;

/// <summary>
/// The shape of a <see cref="UNet2DConditionModel"/>: every <c>config.json</c> field of diffusers'
/// <c>UNet2DConditionModel</c> (<c>src/diffusers/models/unets/unet_2d_condition.py</c>) in PascalCase, with diffusers'
/// defaults (Stable Diffusion 1's U-Net). <see cref="FromJson"/> and <see cref="ToJson"/> read and write diffusers'
/// snake_case keys.
/// </summary>
/// <remarks>
/// <para>Fields that diffusers takes as "a number or one per block" (<c>layers_per_block</c>,
/// <c>cross_attention_dim</c>, <c>attention_head_dim</c>, <c>transformer_layers_per_block</c>,
/// <c>only_cross_attention</c>) are lists here: one entry applies to every block (and is written back as a plain
/// number), otherwise there is one entry per level, outermost first.</para>
/// <para><c>attention_head_dim</c> is, for this class, the <b>number of heads</b> of each level (a historical naming in
/// diffusers, which reads <c>num_attention_heads</c> as falling back to it and refuses <c>num_attention_heads</c>
/// itself); a level of C channels gets heads of width C / heads.</para>
/// <para>Built: <c>CrossAttnDownBlock2D</c>, <c>DownBlock2D</c>, <c>UNetMidBlock2DCrossAttn</c> (or no middle block),
/// <c>CrossAttnUpBlock2D</c>, <c>UpBlock2D</c>, the positional time embedding. SDXL's added embeddings, class
/// embeddings, encoder projections, dual cross-attention, GLIGEN and the other extras are config keys this class
/// reads but refuses when they are not at their defaults (<see cref="GetViolations"/> names each), so a folder that
/// needs them never loads as a silently different network. <c>resnet_skip_time_act</c>, <c>resnet_out_scale_factor</c>,
/// <c>cross_attention_norm</c>, <c>addition_embed_type_num_heads</c> and <c>mid_block_only_cross_attention</c> change
/// only block types this class does not build, as in diffusers: they are kept and written back.</para>
/// </remarks>
public sealed record UNet2DConditionModelConfig : DiffusersUNetConfig, Internal.IModelConfig<UNet2DConditionModelConfig>
{
    /// <summary>A configuration with diffusers' <c>UNet2DConditionModel</c> defaults (Stable Diffusion 1's U-Net).</summary>
    public UNet2DConditionModelConfig()
    {
        InChannels = 4;
        OutChannels = 4;
        DownBlockTypes = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"];
        MidBlockType = MidCrossAttn;
        UpBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"];
        BlockOutChannels = [320, 640, 1280, 1280];
    }

    /// <summary>Whether each level's transformers attend to the encoder states in their first attention too
    /// (<c>only_cross_attention</c>): one entry for all levels or one per level.</summary>
    /// <value>The default value is [false].</value>
    public IReadOnlyList<bool> OnlyCrossAttention { get; init; } = [false];

    /// <summary>Residual blocks per down block; up blocks have one more (<c>layers_per_block</c>): one entry or one per level.</summary>
    /// <value>The default value is [2].</value>
    public IReadOnlyList<int> LayersPerBlock { get; init; } = [2];

    /// <summary>Groups of every GroupNorm (<c>norm_num_groups</c>); diffusers allows null for some block types, this class does not.</summary>
    /// <value>The default value is 32.</value>
    public int? NormNumGroups { get; init; } = 32;

    /// <summary>Width of the encoder states the transformers attend to (<c>cross_attention_dim</c>): 768 for SD 1 (CLIP ViT-L/14),
    /// 1024 for SD 2 (OpenCLIP ViT-H/14). One entry, or one per level (then all equal: one encoder state feeds every block).</summary>
    /// <value>The default value is [1280].</value>
    public IReadOnlyList<int> CrossAttentionDim { get; init; } = [1280];

    /// <summary>Transformer blocks in each <c>Transformer2DModel</c> (<c>transformer_layers_per_block</c>): one entry or one per level.</summary>
    /// <value>The default value is [1].</value>
    public IReadOnlyList<int> TransformerLayersPerBlock { get; init; } = [1];

    /// <summary>Up-path transformer blocks per level when they differ from the down path (<c>reverse_transformer_layers_per_block</c>,
    /// SDXL refiners); not supported: must be null.</summary>
    /// <value>The default value is null.</value>
    public IReadOnlyList<IReadOnlyList<int>>? ReverseTransformerLayersPerBlock { get; init; }

    /// <summary>The number of attention heads of each level (<c>attention_head_dim</c>, so named in diffusers for
    /// historical reasons): one entry or one per level. SD 1 uses 8; SD 2 uses [5, 10, 20, 20] (heads of width 64).</summary>
    /// <value>The default value is [8].</value>
    public IReadOnlyList<int> AttentionHeadDim { get; init; } = [8];

    /// <summary><c>num_attention_heads</c>: diffusers refuses any value but null (it reads <see cref="AttentionHeadDim"/>
    /// as the head count instead), and so does this class.</summary>
    /// <value>The default value is null.</value>
    public IReadOnlyList<int>? NumAttentionHeads { get; init; }

    /// <summary>Whether the transformers project in and out with linear layers (SD 2) rather than 1×1 convolutions (<c>use_linear_projection</c>).</summary>
    /// <value>The default value is false.</value>
    public bool UseLinearProjection { get; init; }

    /// <summary>Whether half-precision attention computes in float32 (<c>upcast_attention</c>; SD 2.1 at 768 px needs it in float16).</summary>
    /// <value>The default value is false.</value>
    public bool UpcastAttention { get; init; }

    /// <summary>Kernel size of <c>conv_in</c> (<c>conv_in_kernel</c>), odd; padded to keep the size.</summary>
    /// <value>The default value is 3.</value>
    public int ConvInKernel { get; init; } = 3;

    /// <summary>Kernel size of <c>conv_out</c> (<c>conv_out_kernel</c>), odd; padded to keep the size.</summary>
    /// <value>The default value is 3.</value>
    public int ConvOutKernel { get; init; } = 3;

    /// <summary><c>mid_block_only_cross_attention</c>: read by diffusers' <c>UNetMidBlock2DSimpleCrossAttn</c> only, so it changes nothing here; kept for round trips.</summary>
    /// <value>The default value is null.</value>
    public bool? MidBlockOnlyCrossAttention { get; init; }

    /// <summary><c>resnet_skip_time_act</c>: read by diffusers' <c>ResnetDownsampleBlock2D</c> and simple cross-attention blocks only; kept for round trips.</summary>
    /// <value>The default value is false.</value>
    public bool ResnetSkipTimeAct { get; init; }

    /// <summary><c>resnet_out_scale_factor</c>: read by diffusers' <c>ResnetDownsampleBlock2D</c> and simple cross-attention blocks only; kept for round trips.</summary>
    /// <value>The default value is 1.</value>
    public double ResnetOutScaleFactor { get; init; } = 1;

    /// <summary><c>cross_attention_norm</c>: read by diffusers' simple cross-attention blocks only; kept for round trips.</summary>
    /// <value>The default value is null.</value>
    public string? CrossAttentionNorm { get; init; }

    /// <summary><c>addition_embed_type_num_heads</c>: read only with <c>addition_embed_type</c> "text"; kept for round trips.</summary>
    /// <value>The default value is 64.</value>
    public int AdditionEmbedTypeNumHeads { get; init; } = 64;

    /// <summary><c>encoder_hid_dim</c> (a projection of the encoder states); not supported: must be null.</summary>
    /// <value>The default value is null.</value>
    public int? EncoderHidDim { get; init; }

    /// <summary><c>encoder_hid_dim_type</c>; not supported: must be null.</summary>
    /// <value>The default value is null.</value>
    public string? EncoderHidDimType { get; init; }

    /// <summary><c>dual_cross_attention</c> (Versatile Diffusion); not supported: must be false.</summary>
    /// <value>The default value is false.</value>
    public bool DualCrossAttention { get; init; }

    /// <summary><c>class_embed_type</c>; not supported: must be null.</summary>
    /// <value>The default value is null.</value>
    public string? ClassEmbedType { get; init; }

    /// <summary><c>addition_embed_type</c> (SDXL's "text_time", Kandinsky's "image", …); not supported: must be null.</summary>
    /// <value>The default value is null.</value>
    public string? AdditionEmbedType { get; init; }

    /// <summary><c>addition_time_embed_dim</c> (SDXL); not supported: must be null.</summary>
    /// <value>The default value is null.</value>
    public int? AdditionTimeEmbedDim { get; init; }

    /// <summary><c>time_embedding_act_fn</c>; not supported: must be null.</summary>
    /// <value>The default value is null.</value>
    public string? TimeEmbeddingActFn { get; init; }

    /// <summary><c>timestep_post_act</c>; not supported: must be null.</summary>
    /// <value>The default value is null.</value>
    public string? TimestepPostAct { get; init; }

    /// <summary><c>time_cond_proj_dim</c> (LCM's guidance embedding); not supported: must be null.</summary>
    /// <value>The default value is null.</value>
    public int? TimeCondProjDim { get; init; }

    /// <summary><c>projection_class_embeddings_input_dim</c>; not supported: must be null.</summary>
    /// <value>The default value is null.</value>
    public int? ProjectionClassEmbeddingsInputDim { get; init; }

    /// <summary><c>attention_type</c> ("gated" is GLIGEN); only "default" is supported.</summary>
    /// <value>The default value is "default".</value>
    public string AttentionType { get; init; } = "default";

    /// <summary><c>class_embeddings_concat</c>; not supported: must be false.</summary>
    /// <value>The default value is false.</value>
    public bool ClassEmbeddingsConcat { get; init; }

    /// <summary>The down-block names this class builds.</summary>
    internal static readonly IReadOnlySet<string> DownTypes = new HashSet<string>(StringComparer.Ordinal) { "CrossAttnDownBlock2D", "DownBlock2D" };

    /// <summary>The up-block names this class builds.</summary>
    internal static readonly IReadOnlySet<string> UpTypes = new HashSet<string>(StringComparer.Ordinal) { "CrossAttnUpBlock2D", "UpBlock2D" };

    /// <summary>The one middle block this class builds.</summary>
    internal const string MidCrossAttn = "UNetMidBlock2DCrossAttn";

    /// <summary>Whether down level <paramref name="level"/> (outermost 0) has cross-attention.</summary>
    internal bool DownAttends(int level) => UNet2DModelConfig.BlockName(DownBlockTypes[level]) == "CrossAttnDownBlock2D";

    /// <summary>Whether up block <paramref name="index"/> (innermost 0) has cross-attention.</summary>
    internal bool UpAttends(int index) => UNet2DModelConfig.BlockName(UpBlockTypes[index]) == "CrossAttnUpBlock2D";

    /// <summary>The entry of a per-level list for level <paramref name="level"/> (a one-entry list applies to all levels).</summary>
    internal static T At<T>(IReadOnlyList<T> values, int level) => values.Count == 1 ? values[0] : values[level];

    /// <summary>Reads a diffusers <c>config.json</c> of a <c>UNet2DConditionModel</c>.</summary>
    /// <param name="json">The JSON text. Keys starting with "_" are metadata and skipped; missing keys take the defaults.</param>
    /// <param name="unknownKeys">Receives each key that is not a <c>UNet2DConditionModel</c> field (ignored); null to drop them.</param>
    /// <returns>The configuration (not yet validated: see <see cref="DiffusersModelConfig.Validate"/>).</returns>
    /// <exception cref="InvalidDataException">The text is not a JSON object, or a value has the wrong type; the message names the key, the expected and the actual value.</exception>
    public static UNet2DConditionModelConfig FromJson(string json, ICollection<string>? unknownKeys = null) => Internal.ModelConfigJson.ReadUNet2DCondition(json, unknownKeys);

    /// <inheritdoc/>
    /// <remarks><c>_class_name</c> is <c>"UNet2DConditionModel"</c>.</remarks>
    public override string ToJson() => Internal.ModelConfigJson.WriteUNet2DCondition(this);

    /// <inheritdoc/>
    public override IReadOnlyList<string> GetViolations()
    {
        var errors = new List<string>();
        AddSharedViolations(errors);
        Internal.UNet2DConditionConfigRules.Check(this, errors);
        return errors;
    }

    /// <summary>Compares all values, the lists element by element.</summary>
    /// <param name="other">The configuration to compare with.</param>
    /// <returns>True when every field is equal.</returns>
    public bool Equals(UNet2DConditionModelConfig? other) => WritesSameJson(other);

    /// <summary>A hash of all values, consistent with <see cref="Equals(UNet2DConditionModelConfig?)"/>.</summary>
    /// <returns>The hash code.</returns>
    public override int GetHashCode() => JsonHash();
}
