using Diffusion.Models.Internal;
using Diffusion.Schedulers.Internal;
using Diffusion.Internal;

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
public sealed record UNet2DModelConfig : DiffusersUNetConfig, Internal.IModelConfig<UNet2DModelConfig>
{
    /// <summary>Residual blocks per down block; up blocks have one more (<c>layers_per_block</c>).</summary>
    /// <value>The default value is 2.</value>
    public int LayersPerBlock { get; init; } = 2;

    /// <summary>The downsampler of <c>AttnDownBlock2D</c> (<c>downsample_type</c>).</summary>
    /// <value>The default value is <see cref="ResampleType.Conv"/>.</value>
    public ResampleType DownsampleType { get; init; } = ResampleType.Conv;

    /// <summary>The upsampler of <c>AttnUpBlock2D</c> (<c>upsample_type</c>).</summary>
    /// <value>The default value is <see cref="ResampleType.Conv"/>.</value>
    public ResampleType UpsampleType { get; init; } = ResampleType.Conv;

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

    /// <summary>Whether the middle block has its attention (<c>add_attention</c>).</summary>
    /// <value>The default value is true.</value>
    public bool AddAttention { get; init; } = true;

    /// <summary>How class labels are embedded (<c>class_embed_type</c>); null with <see cref="DiffusersUNetConfig.NumClassEmbeds"/> set
    /// means a learned table, null without it means an unconditional model.</summary>
    /// <value>The default value is null.</value>
    public ClassEmbedType? ClassEmbedType { get; init; }

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

    /// <summary>diffusers strips a leading "UNetRes" from block names (<c>get_down_block</c>, <c>get_up_block</c>).</summary>
    internal static string BlockName(string type) => type.StartsWith("UNetRes", StringComparison.Ordinal) ? type[7..] : type;

    /// <summary>Reads a diffusers <c>config.json</c> of a <c>UNet2DModel</c>.</summary>
    /// <param name="json">The JSON text. Keys starting with "_" are metadata and skipped; missing keys take the defaults.</param>
    /// <param name="unknownKeys">Receives each key that is not a <c>UNet2DModel</c> field (ignored); null to drop them.</param>
    /// <returns>The configuration (not yet validated: see <see cref="DiffusersModelConfig.Validate"/>).</returns>
    /// <exception cref="InvalidDataException">The text is not a JSON object, or a value has the wrong type; the message names the key, the expected and the actual value.</exception>
    public static UNet2DModelConfig FromJson(string json, ICollection<string>? unknownKeys = null) => Internal.ModelConfigJson.ReadUNet2D(json, unknownKeys);

    /// <inheritdoc/>
    /// <remarks><c>_class_name</c> is <c>"UNet2DModel"</c>.</remarks>
    public override string ToJson() => Internal.ModelConfigJson.WriteUNet2D(this);

    /// <inheritdoc/>
    public override IReadOnlyList<string> GetViolations()
    {
        var errors = new List<string>();
        AddSharedViolations(errors);
        ModelConfigRules.Range(errors, nameof(LayersPerBlock), "layers_per_block", LayersPerBlock, 1, 64);
        ModelConfigRules.Range(errors, nameof(NormNumGroups), "norm_num_groups", NormNumGroups, 1, MaxChannels);
        OptionsRules.Defined(TimeEmbeddingType, nameof(TimeEmbeddingType), "time_embedding_type", errors);
        OptionsRules.Defined(DownsampleType, nameof(DownsampleType), "downsample_type", errors);
        OptionsRules.Defined(UpsampleType, nameof(UpsampleType), "upsample_type", errors);
        if (ClassEmbedType is { } classType)
        {
            OptionsRules.Defined(classType, nameof(ClassEmbedType), "class_embed_type", errors);
        }

        CheckChannels(errors);
        CheckBlockTypes(errors);
        CheckEmbeddings(errors);
        return errors;
    }

    /// <summary>Compares all values, the lists element by element.</summary>
    /// <param name="other">The configuration to compare with.</param>
    /// <returns>True when every field is equal.</returns>
    public bool Equals(UNet2DModelConfig? other) => WritesSameJson(other);

    /// <summary>A hash of all values, consistent with <see cref="Equals(UNet2DModelConfig?)"/>.</summary>
    /// <returns>The hash code.</returns>
    public override int GetHashCode() => JsonHash();

    private const int MaxChannels = ModelConfigRules.MaxChannels;

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
