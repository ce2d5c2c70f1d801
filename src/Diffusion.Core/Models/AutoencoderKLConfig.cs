using Diffusion.Internal;
using Diffusion.Models.Internal;
using Diffusion.Schedulers.Internal;

namespace Diffusion.Models;

/// <summary>
/// The shape of an <see cref="AutoencoderKL"/>: every <c>config.json</c> field of diffusers' <c>AutoencoderKL</c>
/// (<c>src/diffusers/models/autoencoders/autoencoder_kl.py</c>) in PascalCase, with diffusers' defaults.
/// <see cref="FromJson"/> and <see cref="ToJson"/> read and write diffusers' snake_case keys.
/// </summary>
/// <remarks>
/// Stable Diffusion 1.x and 2.x use <c>BlockOutChannels</c> [128, 256, 512, 512], <c>LayersPerBlock</c> 2,
/// <c>LatentChannels</c> 4, <c>NormNumGroups</c> 32 and <c>ScalingFactor</c> 0.18215 (83,653,863 parameters); their
/// folders' <c>vae/config.json</c> says so. Block types are diffusers' class names; this library builds
/// <c>DownEncoderBlock2D</c> and <c>UpDecoderBlock2D</c>, the only ones <c>AutoencoderKL</c> checkpoints use.
/// </remarks>
public sealed record AutoencoderKLConfig : DiffusersModelConfig, Internal.IModelConfig<AutoencoderKLConfig>
{
    /// <summary>Channels of the input image (<c>in_channels</c>).</summary>
    /// <value>The default value is 3.</value>
    public int InChannels { get; init; } = 3;

    /// <summary>Channels of the decoded image (<c>out_channels</c>).</summary>
    /// <value>The default value is 3.</value>
    public int OutChannels { get; init; } = 3;

    /// <summary>The encoder's blocks, outermost first (<c>down_block_types</c>).</summary>
    /// <value>The default value is [DownEncoderBlock2D].</value>
    public IReadOnlyList<string> DownBlockTypes { get; init; } = ["DownEncoderBlock2D"];

    /// <summary>The decoder's blocks, innermost first (<c>up_block_types</c>).</summary>
    /// <value>The default value is [UpDecoderBlock2D].</value>
    public IReadOnlyList<string> UpBlockTypes { get; init; } = ["UpDecoderBlock2D"];

    /// <summary>Channels of each level, outermost first (<c>block_out_channels</c>); every level but the last halves
    /// the resolution.</summary>
    /// <value>The default value is [64].</value>
    public IReadOnlyList<int> BlockOutChannels { get; init; } = [64];

    /// <summary>Residual blocks per encoder block; decoder blocks have one more (<c>layers_per_block</c>).</summary>
    /// <value>The default value is 1.</value>
    public int LayersPerBlock { get; init; } = 1;

    /// <summary>The residual blocks' activation (<c>act_fn</c>).</summary>
    /// <value>The default value is <see cref="ActivationFunction.Silu"/>.</value>
    public ActivationFunction ActFn { get; init; } = ActivationFunction.Silu;

    /// <summary>Channels of the latent (<c>latent_channels</c>); the encoder outputs twice as many (mean and log-variance).</summary>
    /// <value>The default value is 4.</value>
    public int LatentChannels { get; init; } = 4;

    /// <summary>Groups of every GroupNorm (<c>norm_num_groups</c>).</summary>
    /// <value>The default value is 32.</value>
    public int NormNumGroups { get; init; } = 32;

    /// <summary>Image side the model was trained on (<c>sample_size</c>); tiling cuts images into tiles of this side.</summary>
    /// <value>The default value is 32.</value>
    public int SampleSize { get; init; } = 32;

    /// <summary>Latents are multiplied by it before the diffusion model sees them and divided by it before decoding
    /// (<c>scaling_factor</c>): the latent space's standard deviation on the training set, inverted.</summary>
    /// <value>The default value is 0.18215 (Stable Diffusion 1.x and 2.x).</value>
    public double ScalingFactor { get; init; } = 0.18215;

    /// <summary>Subtracted from latents before scaling (<c>shift_factor</c>; Stable Diffusion 3 and FLUX); null for none.</summary>
    /// <value>The default value is null.</value>
    public double? ShiftFactor { get; init; }

    /// <summary>Per-channel latent means some pipelines normalise with (<c>latents_mean</c>); null for none.</summary>
    /// <value>The default value is null.</value>
    public IReadOnlyList<double>? LatentsMean { get; init; }

    /// <summary>Per-channel latent standard deviations some pipelines normalise with (<c>latents_std</c>); null for none.</summary>
    /// <value>The default value is null.</value>
    public IReadOnlyList<double>? LatentsStd { get; init; }

    /// <summary>Whether pipelines should run this VAE in float32 even when the rest runs in float16 (<c>force_upcast</c>);
    /// the model itself does not read it.</summary>
    /// <value>The default value is true.</value>
    public bool ForceUpcast { get; init; } = true;

    /// <summary>The element type a pipeline runs this VAE in when the rest runs in <paramref name="dtype"/>: float32 for
    /// float16 when <see cref="ForceUpcast"/> says so (a float16 decode can overflow), else <paramref name="dtype"/>.</summary>
    internal ScalarType? PipelineType(ScalarType? dtype) => dtype == ScalarType.Float16 && ForceUpcast ? ScalarType.Float32 : dtype;

    /// <summary>Whether a 1×1 convolution follows the encoder (<c>use_quant_conv</c>).</summary>
    /// <value>The default value is true.</value>
    public bool UseQuantConv { get; init; } = true;

    /// <summary>Whether a 1×1 convolution precedes the decoder (<c>use_post_quant_conv</c>).</summary>
    /// <value>The default value is true.</value>
    public bool UsePostQuantConv { get; init; } = true;

    /// <summary>Whether the encoder's and decoder's middle blocks have their self-attention (<c>mid_block_add_attention</c>).</summary>
    /// <value>The default value is true.</value>
    public bool MidBlockAddAttention { get; init; } = true;

    /// <summary>Reads a diffusers <c>config.json</c> of an <c>AutoencoderKL</c>.</summary>
    /// <param name="json">The JSON text. Keys starting with "_" are metadata and skipped; missing keys take the defaults.</param>
    /// <param name="unknownKeys">Receives each key that is not an <c>AutoencoderKL</c> field (ignored); null to drop them.</param>
    /// <returns>The configuration (not yet validated: see <see cref="DiffusersModelConfig.Validate"/>).</returns>
    /// <exception cref="InvalidDataException">The text is not a JSON object, or a value has the wrong type; the message names the key, the expected and the actual value.</exception>
    public static AutoencoderKLConfig FromJson(string json, ICollection<string>? unknownKeys = null) => Internal.ModelConfigJson.ReadAutoencoderKL(json, unknownKeys);

    /// <inheritdoc/>
    /// <remarks><c>_class_name</c> is <c>"AutoencoderKL"</c>.</remarks>
    public override string ToJson() => Internal.ModelConfigJson.WriteAutoencoderKL(this);

    /// <inheritdoc/>
    public override IReadOnlyList<string> GetViolations()
    {
        var errors = new List<string>();
        ModelConfigRules.Range(errors, nameof(InChannels), "in_channels", InChannels, 1, MaxChannels);
        ModelConfigRules.Range(errors, nameof(OutChannels), "out_channels", OutChannels, 1, MaxChannels);
        ModelConfigRules.Range(errors, nameof(LatentChannels), "latent_channels", LatentChannels, 1, MaxChannels);
        ModelConfigRules.Range(errors, nameof(LayersPerBlock), "layers_per_block", LayersPerBlock, 1, 64);
        ModelConfigRules.Range(errors, nameof(NormNumGroups), "norm_num_groups", NormNumGroups, 1, MaxChannels);
        ModelConfigRules.Range(errors, nameof(SampleSize), "sample_size", SampleSize, 1, 1 << 20);
        OptionsRules.Defined(ActFn, nameof(ActFn), "act_fn", errors);
        if (!(ScalingFactor > 0) || double.IsInfinity(ScalingFactor))
        {
            errors.Add($"ScalingFactor (scaling_factor) must be positive and finite; got {OptionsRules.F(ScalingFactor)}");
        }

        if (ShiftFactor is { } shift && !double.IsFinite(shift))
        {
            errors.Add($"ShiftFactor (shift_factor) must be finite or null; got {OptionsRules.F(shift)}");
        }

        CheckLatentStatistics(errors, nameof(LatentsMean), "latents_mean", LatentsMean, positive: false);
        CheckLatentStatistics(errors, nameof(LatentsStd), "latents_std", LatentsStd, positive: true);
        ModelConfigRules.BlockOutChannels(errors, BlockOutChannels, NormNumGroups);
        int levels = BlockOutChannels?.Count ?? 0;
        CheckTypes(errors, nameof(DownBlockTypes), "down_block_types", DownBlockTypes, "DownEncoderBlock2D", levels);
        CheckTypes(errors, nameof(UpBlockTypes), "up_block_types", UpBlockTypes, "UpDecoderBlock2D", levels);
        return errors;
    }

    /// <summary>Compares all values, the lists element by element.</summary>
    /// <param name="other">The configuration to compare with.</param>
    /// <returns>True when every field is equal.</returns>
    public bool Equals(AutoencoderKLConfig? other) => WritesSameJson(other);

    /// <summary>A hash of all values, consistent with <see cref="Equals(AutoencoderKLConfig?)"/>.</summary>
    /// <returns>The hash code.</returns>
    public override int GetHashCode() => JsonHash();

    private const int MaxChannels = ModelConfigRules.MaxChannels;

    private void CheckLatentStatistics(List<string> errors, string name, string key, IReadOnlyList<double>? values, bool positive)
    {
        if (values is null)
        {
            return;
        }

        if (values.Count != LatentChannels)
        {
            errors.Add($"{name} ({key}) must have one entry per latent channel ({LatentChannels}) or be null; got {values.Count} entries");
        }

        foreach (double v in values.Where(v => !double.IsFinite(v) || (positive && !(v > 0))))
        {
            errors.Add($"{name} ({key}) entries must be {(positive ? "positive and " : string.Empty)}finite; got {OptionsRules.F(v)}");
        }
    }

    private static void CheckTypes(List<string> errors, string name, string key, IReadOnlyList<string>? types, string supported, int levels)
    {
        if (!ModelConfigRules.OnePerLevel(errors, name, key, types, levels))
        {
            return;
        }

        for (int i = 0; i < types.Count; i++)
        {
            if (types[i] != supported)
            {
                errors.Add($"{name}[{i}] ({key}) must be \"{supported}\" (the only {(supported.StartsWith("Down", StringComparison.Ordinal) ? "encoder" : "decoder")} block AutoencoderKL checkpoints use); got \"{types[i]}\"");
            }
        }
    }
}
