using System.Text;
using Diffusion.Models.Internal;
using Diffusion.Schedulers.Internal;

namespace Diffusion.Models;

/// <summary>
/// The shape of a <see cref="UNet2DModel"/>: every <c>config.json</c> field of diffusers' <c>UNet2DModel</c>
/// (<c>src/diffusers/models/unets/unet_2d.py</c>) in PascalCase, with diffusers' defaults.
/// <see cref="FromJson"/> and <see cref="ToJson"/> read and write diffusers' snake_case keys.
/// </summary>
/// <remarks>
/// Block types are diffusers' class names: <c>DownBlock2D</c>, <c>AttnDownBlock2D</c>, <c>UpBlock2D</c>,
/// <c>AttnUpBlock2D</c> (an old <c>UNetRes</c> prefix is accepted, as diffusers accepts it). The skip variants
/// (<c>SkipDownBlock2D</c>, <c>AttnSkipDownBlock2D</c>, <c>SkipUpBlock2D</c>, <c>AttnSkipUpBlock2D</c>, the
/// NCSN++ layout of score-SDE models) need FIR resampling and are not implemented: <see cref="GetViolations"/>
/// names them.
/// </remarks>
public sealed record UNet2DModelConfig
{
    /// <summary>Height and width of the images the model was trained on (<c>sample_size</c>); the forward pass does not read it.</summary>
    /// <value>The default value is null.</value>
    public int? SampleSize { get; init; }

    /// <summary>Channels of the input sample (<c>in_channels</c>).</summary>
    /// <value>The default value is 3.</value>
    public int InChannels { get; init; } = 3;

    /// <summary>Channels of the output (<c>out_channels</c>).</summary>
    /// <value>The default value is 3.</value>
    public int OutChannels { get; init; } = 3;

    /// <summary>Whether the input is mapped by <c>2x − 1</c> first (<c>center_input_sample</c>).</summary>
    /// <value>The default value is false.</value>
    public bool CenterInputSample { get; init; }

    /// <summary>How timesteps become features (<c>time_embedding_type</c>).</summary>
    /// <value>The default value is <see cref="Models.TimeEmbeddingType.Positional"/>.</value>
    public TimeEmbeddingType TimeEmbeddingType { get; init; } = TimeEmbeddingType.Positional;

    /// <summary>Width of the time embedding (<c>time_embedding_dim</c>); null means 4 · <c>BlockOutChannels[0]</c>.</summary>
    /// <value>The default value is null.</value>
    public int? TimeEmbeddingDim { get; init; }

    /// <summary>The shift in the sinusoidal frequency exponent's divisor, <c>dim/2 − freq_shift</c> (<c>freq_shift</c>).</summary>
    /// <value>The default value is 0.</value>
    public int FreqShift { get; init; }

    /// <summary>Whether the sinusoidal embedding puts its cosine half first (<c>flip_sin_to_cos</c>).</summary>
    /// <value>The default value is true.</value>
    public bool FlipSinToCos { get; init; } = true;

    /// <summary>The down blocks, outermost first (<c>down_block_types</c>).</summary>
    /// <value>The default value is [DownBlock2D, AttnDownBlock2D, AttnDownBlock2D, AttnDownBlock2D].</value>
    public IReadOnlyList<string> DownBlockTypes { get; init; } = ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"];

    /// <summary>The middle block (<c>mid_block_type</c>): <c>UNetMidBlock2D</c>, or null for none.</summary>
    /// <value>The default value is "UNetMidBlock2D".</value>
    public string? MidBlockType { get; init; } = "UNetMidBlock2D";

    /// <summary>The up blocks, innermost first (<c>up_block_types</c>).</summary>
    /// <value>The default value is [AttnUpBlock2D, AttnUpBlock2D, AttnUpBlock2D, UpBlock2D].</value>
    public IReadOnlyList<string> UpBlockTypes { get; init; } = ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"];

    /// <summary>Channels of each level, outermost first (<c>block_out_channels</c>).</summary>
    /// <value>The default value is [224, 448, 672, 896].</value>
    public IReadOnlyList<int> BlockOutChannels { get; init; } = [224, 448, 672, 896];

    /// <summary>Residual blocks per down block; up blocks have one more (<c>layers_per_block</c>).</summary>
    /// <value>The default value is 2.</value>
    public int LayersPerBlock { get; init; } = 2;

    /// <summary>The middle block's residual blocks and attention divide their output by it (<c>mid_block_scale_factor</c>).</summary>
    /// <value>The default value is 1.</value>
    public double MidBlockScaleFactor { get; init; } = 1;

    /// <summary>Padding of the downsampling convolutions; 0 pads right and bottom by one instead (<c>downsample_padding</c>).</summary>
    /// <value>The default value is 1.</value>
    public int DownsamplePadding { get; init; } = 1;

    /// <summary>The downsampler of <c>AttnDownBlock2D</c> (<c>downsample_type</c>).</summary>
    /// <value>The default value is <see cref="ResampleType.Conv"/>.</value>
    public ResampleType DownsampleType { get; init; } = ResampleType.Conv;

    /// <summary>The upsampler of <c>AttnUpBlock2D</c> (<c>upsample_type</c>).</summary>
    /// <value>The default value is <see cref="ResampleType.Conv"/>.</value>
    public ResampleType UpsampleType { get; init; } = ResampleType.Conv;

    /// <summary>Dropout inside every residual block, in training mode (<c>dropout</c>).</summary>
    /// <value>The default value is 0.</value>
    public double Dropout { get; init; }

    /// <summary>The residual blocks' activation (<c>act_fn</c>).</summary>
    /// <value>The default value is <see cref="ActivationFunction.Silu"/>.</value>
    public ActivationFunction ActFn { get; init; } = ActivationFunction.Silu;

    /// <summary>Width of each attention head; a level of C channels gets C / width heads (<c>attention_head_dim</c>).
    /// Null means one head as wide as the level (the original DDPM).</summary>
    /// <value>The default value is 8.</value>
    public int? AttentionHeadDim { get; init; } = 8;

    /// <summary>Groups of every GroupNorm (<c>norm_num_groups</c>).</summary>
    /// <value>The default value is 32.</value>
    public int NormNumGroups { get; init; } = 32;

    /// <summary>Groups of the middle attention's GroupNorm (<c>attn_norm_num_groups</c>). Null means
    /// <see cref="NormNumGroups"/> with <see cref="ResnetTimeScaleShift.Default"/> and no GroupNorm with
    /// <see cref="ResnetTimeScaleShift.ScaleShift"/>, as in diffusers.</summary>
    /// <value>The default value is null.</value>
    public int? AttnNormNumGroups { get; init; }

    /// <summary>Epsilon of every GroupNorm (<c>norm_eps</c>).</summary>
    /// <value>The default value is 1e-5.</value>
    public double NormEps { get; init; } = 1e-5;

    /// <summary>How the residual blocks apply the time embedding (<c>resnet_time_scale_shift</c>).</summary>
    /// <value>The default value is <see cref="Models.ResnetTimeScaleShift.Default"/>.</value>
    public ResnetTimeScaleShift ResnetTimeScaleShift { get; init; } = ResnetTimeScaleShift.Default;

    /// <summary>Whether the middle block has its attention (<c>add_attention</c>).</summary>
    /// <value>The default value is true.</value>
    public bool AddAttention { get; init; } = true;

    /// <summary>How class labels are embedded (<c>class_embed_type</c>); null with <see cref="NumClassEmbeds"/> set
    /// means a learned table, null without it means an unconditional model.</summary>
    /// <value>The default value is null.</value>
    public ClassEmbedType? ClassEmbedType { get; init; }

    /// <summary>Number of classes of the learned class table (<c>num_class_embeds</c>).</summary>
    /// <value>The default value is null.</value>
    public int? NumClassEmbeds { get; init; }

    /// <summary>Rows of the learned time table (<c>num_train_timesteps</c>; used by <see cref="TimeEmbeddingType.Learned"/> only).</summary>
    /// <value>The default value is null.</value>
    public int? NumTrainTimesteps { get; init; }

    /// <summary>The block names this library builds, as diffusers spells them.</summary>
    internal static readonly IReadOnlySet<string> DownTypes = new HashSet<string>(StringComparer.Ordinal) { "DownBlock2D", "AttnDownBlock2D" };

    /// <summary>The up-block names this library builds.</summary>
    internal static readonly IReadOnlySet<string> UpTypes = new HashSet<string>(StringComparer.Ordinal) { "UpBlock2D", "AttnUpBlock2D" };

    private static readonly IReadOnlySet<string> SkipTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "SkipDownBlock2D", "AttnSkipDownBlock2D", "SkipUpBlock2D", "AttnSkipUpBlock2D",
    };

    /// <summary>The width of the time embedding every residual block receives.</summary>
    internal int TimeEmbedDim => TimeEmbeddingDim ?? (BlockOutChannels is { Count: > 0 } ? BlockOutChannels[0] * 4 : 0);

    /// <summary>diffusers strips a leading "UNetRes" from block names (<c>get_down_block</c>, <c>get_up_block</c>).</summary>
    internal static string BlockName(string type) => type.StartsWith("UNetRes", StringComparison.Ordinal) ? type[7..] : type;

    /// <summary>Reads a diffusers <c>config.json</c> of a <c>UNet2DModel</c>.</summary>
    /// <param name="json">The JSON text. Keys starting with "_" are metadata and skipped; missing keys take the defaults.</param>
    /// <param name="unknownKeys">Receives each key that is not a <c>UNet2DModel</c> field (ignored); null to drop them.</param>
    /// <returns>The configuration (not yet validated: see <see cref="Validate"/>).</returns>
    /// <exception cref="InvalidDataException">The text is not a JSON object, or a value has the wrong type; the message names the key, the expected and the actual value.</exception>
    public static UNet2DModelConfig FromJson(string json, ICollection<string>? unknownKeys = null) => Internal.ModelConfigJson.ReadUNet2D(json, unknownKeys);

    /// <summary>Writes this configuration as diffusers writes it: every field by its key, sorted, plus
    /// <c>_class_name</c> = <c>"UNet2DModel"</c> and <c>_diffusers_version</c>.</summary>
    /// <returns>The JSON text (indented, ending with a newline).</returns>
    public string ToJson() => Internal.ModelConfigJson.WriteUNet2D(this);

    /// <summary>Lists every rule this configuration breaks; empty when it is valid.</summary>
    /// <returns>One message per violation, naming the property, its JSON key, the rule and the value.</returns>
    public IReadOnlyList<string> GetViolations()
    {
        var errors = new List<string>();
        ModelConfigRules.Range(errors, nameof(InChannels), "in_channels", InChannels, 1, MaxChannels);
        ModelConfigRules.Range(errors, nameof(OutChannels), "out_channels", OutChannels, 1, MaxChannels);
        ModelConfigRules.Range(errors, nameof(LayersPerBlock), "layers_per_block", LayersPerBlock, 1, 64);
        ModelConfigRules.Range(errors, nameof(NormNumGroups), "norm_num_groups", NormNumGroups, 1, MaxChannels);
        ModelConfigRules.Range(errors, nameof(DownsamplePadding), "downsample_padding", DownsamplePadding, 0, 16);
        OptionsRules.Defined(TimeEmbeddingType, nameof(TimeEmbeddingType), "time_embedding_type", errors);
        OptionsRules.Defined(DownsampleType, nameof(DownsampleType), "downsample_type", errors);
        OptionsRules.Defined(UpsampleType, nameof(UpsampleType), "upsample_type", errors);
        OptionsRules.Defined(ActFn, nameof(ActFn), "act_fn", errors);
        OptionsRules.Defined(ResnetTimeScaleShift, nameof(ResnetTimeScaleShift), "resnet_time_scale_shift", errors);
        if (ClassEmbedType is { } classType)
        {
            OptionsRules.Defined(classType, nameof(ClassEmbedType), "class_embed_type", errors);
        }

        if (!(NormEps > 0) || double.IsInfinity(NormEps))
        {
            errors.Add($"NormEps (norm_eps) must be positive and finite; got {OptionsRules.F(NormEps)}");
        }

        if (!(Dropout >= 0 && Dropout < 1))
        {
            errors.Add($"Dropout (dropout) must lie in [0, 1); got {OptionsRules.F(Dropout)}");
        }

        if (!(MidBlockScaleFactor != 0) || !double.IsFinite(MidBlockScaleFactor))
        {
            errors.Add($"MidBlockScaleFactor (mid_block_scale_factor) must be finite and not 0; got {OptionsRules.F(MidBlockScaleFactor)}");
        }

        CheckChannels(errors);
        CheckBlockTypes(errors);
        CheckEmbeddings(errors);
        return errors;
    }

    /// <summary>Throws when this configuration breaks any rule, listing all of them.</summary>
    /// <exception cref="ArgumentException">At least one rule is broken; the message lists every violation.</exception>
    public void Validate() => OptionsRules.ThrowIfAny(nameof(UNet2DModelConfig), [.. GetViolations()], "config");

    /// <summary>Compares all values, the lists element by element.</summary>
    /// <param name="other">The configuration to compare with.</param>
    /// <returns>True when every field is equal.</returns>
    public bool Equals(UNet2DModelConfig? other) => other is not null && ToJson() == other.ToJson();

    /// <summary>A hash of all values, consistent with <see cref="Equals(UNet2DModelConfig?)"/>.</summary>
    /// <returns>The hash code.</returns>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToJson());

    private const int MaxChannels = ModelConfigRules.MaxChannels;

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(Internal.ModelConfigJson.Describe(this));
        return true;
    }

    private void CheckChannels(List<string> errors)
    {
        if (!ModelConfigRules.BlockOutChannels(errors, BlockOutChannels, NormNumGroups))
        {
            return;
        }

        if (AttentionHeadDim is { } headDim)
        {
            if (headDim < 1)
            {
                errors.Add($"AttentionHeadDim (attention_head_dim) must be at least 1 or null; got {headDim}");
            }
            else
            {
                int levels = BlockOutChannels.Count;
                bool Attends(IReadOnlyList<string>? types, int index) =>
                    types is not null && types.Count == levels && types[index] is { } type && BlockName(type).StartsWith("Attn", StringComparison.Ordinal);
                IEnumerable<int> attended = Enumerable.Range(0, levels)
                    .Where(i => Attends(DownBlockTypes, i) || Attends(UpBlockTypes, levels - 1 - i))
                    .Select(i => BlockOutChannels[i]);
                if (MidBlockType is not null && AddAttention)
                {
                    attended = attended.Append(BlockOutChannels[^1]);
                }

                foreach (int c in attended.Distinct().Where(c => c >= 1 && c < headDim))
                {
                    errors.Add($"AttentionHeadDim (attention_head_dim) must not exceed the channels of an attention level ({c}): it would get no head; got {headDim}");
                }
            }
        }

        if (AttnNormNumGroups is { } attnGroups && (attnGroups < 1 || BlockOutChannels[^1] % attnGroups != 0))
        {
            errors.Add($"AttnNormNumGroups (attn_norm_num_groups) must be a positive divisor of BlockOutChannels[^1] ({BlockOutChannels[^1]}) or null; got {attnGroups}");
        }
    }

    private void CheckBlockTypes(List<string> errors)
    {
        int levels = BlockOutChannels?.Count ?? 0;
        CheckTypes(errors, nameof(DownBlockTypes), "down_block_types", DownBlockTypes, DownTypes, levels);
        CheckTypes(errors, nameof(UpBlockTypes), "up_block_types", UpBlockTypes, UpTypes, levels);
        if (MidBlockType is not null && MidBlockType != "UNetMidBlock2D")
        {
            errors.Add($"MidBlockType (mid_block_type) must be \"UNetMidBlock2D\" or null; got \"{MidBlockType}\"");
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
            string type = BlockName(types[i] ?? "null");
            if (supported.Contains(type))
            {
                continue;
            }

            string expected = string.Join(", ", supported.Select(s => "\"" + s + "\""));
            errors.Add(SkipTypes.Contains(type)
                ? $"{name}[{i}] ({key}) \"{types[i]}\" is a diffusers block this library does not implement (the skip blocks of score-SDE models need FIR resampling); supported: {expected}"
                : $"{name}[{i}] ({key}) must be one of {expected}; got \"{types[i]}\"");
        }
    }

    private void CheckEmbeddings(List<string> errors)
    {
        if (TimeEmbeddingDim is { } dim && (dim < 1 || dim > MaxChannels))
        {
            errors.Add($"TimeEmbeddingDim (time_embedding_dim) must lie in [1, {MaxChannels}] or be null; got {dim}");
        }

        if (NumTrainTimesteps is { } steps && (steps < 1 || steps > OptionsRules.MaxTrainTimesteps))
        {
            errors.Add($"NumTrainTimesteps (num_train_timesteps) must lie in [1, {OptionsRules.MaxTrainTimesteps}] or be null; got {steps}");
        }

        if (TimeEmbeddingType == TimeEmbeddingType.Learned && NumTrainTimesteps is null)
        {
            errors.Add("NumTrainTimesteps (num_train_timesteps) must be set when TimeEmbeddingType (time_embedding_type) is \"learned\"; got null");
        }

        if (TimeEmbeddingType == TimeEmbeddingType.Positional && BlockOutChannels is { Count: > 0 } && BlockOutChannels[0] / 2 - FreqShift == 0)
        {
            errors.Add($"FreqShift (freq_shift) must differ from BlockOutChannels[0] / 2 ({BlockOutChannels[0] / 2}): it divides the frequency exponent; got {FreqShift}");
        }

        if (NumClassEmbeds is { } classes && (classes < 1 || classes > 1 << 24))
        {
            errors.Add($"NumClassEmbeds (num_class_embeds) must lie in [1, {1 << 24}] or be null; got {classes}");
        }
    }
}
