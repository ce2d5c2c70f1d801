using Diffusion.Internal;
using Diffusion.Models.Internal;
using Diffusion.Schedulers.Internal;

namespace Diffusion.Models;

/// <summary>
/// The <c>config.json</c> fields diffusers' two 2-D U-Nets share, with the same key, meaning and rules:
/// <see cref="UNet2DModelConfig"/> (<c>UNet2DModel</c>) and <see cref="UNet2DConditionModelConfig"/>
/// (<c>UNet2DConditionModel</c>) derive from it and add their own. The defaults are <c>UNet2DModel</c>'s; where
/// <c>UNet2DConditionModel</c>'s differ (channels, block types, widths) each property says both.
/// </summary>
/// <remarks>Only this library's U-Net configurations derive from it.</remarks>
public abstract record DiffusersUNetConfig : DiffusersModelConfig
{
    /// <summary>Sets <c>UNet2DModel</c>'s defaults; <see cref="UNet2DConditionModelConfig"/>'s constructor sets its own
    /// where the two classes differ.</summary>
    private protected DiffusersUNetConfig()
    {
    }

    /// <summary>Height and width of the samples the model was trained on (<c>sample_size</c>: images for
    /// <c>UNet2DModel</c>, latents for <c>UNet2DConditionModel</c>, 64 for SD 1.5); the forward pass does not read it.</summary>
    /// <value>The default value is null.</value>
    public int? SampleSize { get; init; }

    /// <summary>Channels of the input sample (<c>in_channels</c>).</summary>
    /// <value>The default value is 3 in <see cref="UNet2DModelConfig"/> and 4 in <see cref="UNet2DConditionModelConfig"/>.</value>
    public int InChannels { get; init; } = 3;

    /// <summary>Channels of the output (<c>out_channels</c>).</summary>
    /// <value>The default value is 3 in <see cref="UNet2DModelConfig"/> and 4 in <see cref="UNet2DConditionModelConfig"/>.</value>
    public int OutChannels { get; init; } = 3;

    /// <summary>Whether the input is mapped by <c>2x − 1</c> first (<c>center_input_sample</c>).</summary>
    /// <value>The default value is false.</value>
    public bool CenterInputSample { get; init; }

    /// <summary>How timesteps become features (<c>time_embedding_type</c>); <see cref="UNet2DConditionModel"/> builds
    /// only <see cref="TimeEmbeddingType.Positional"/>.</summary>
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

    /// <summary>The down blocks, outermost first (<c>down_block_types</c>): <c>DownBlock2D</c> or <c>AttnDownBlock2D</c>
    /// in <see cref="UNet2DModelConfig"/>, <c>CrossAttnDownBlock2D</c> or <c>DownBlock2D</c> in <see cref="UNet2DConditionModelConfig"/>.</summary>
    /// <value>The default value is [DownBlock2D, AttnDownBlock2D, AttnDownBlock2D, AttnDownBlock2D] in <see cref="UNet2DModelConfig"/>
    /// and [CrossAttnDownBlock2D, CrossAttnDownBlock2D, CrossAttnDownBlock2D, DownBlock2D] in <see cref="UNet2DConditionModelConfig"/>.</value>
    public IReadOnlyList<string> DownBlockTypes { get; init; } = ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"];

    /// <summary>The middle block (<c>mid_block_type</c>): <c>UNetMidBlock2D</c> in <see cref="UNet2DModelConfig"/>,
    /// <c>UNetMidBlock2DCrossAttn</c> in <see cref="UNet2DConditionModelConfig"/>, or null for none.</summary>
    /// <value>The default value is "UNetMidBlock2D" in <see cref="UNet2DModelConfig"/> and "UNetMidBlock2DCrossAttn" in <see cref="UNet2DConditionModelConfig"/>.</value>
    public string? MidBlockType { get; init; } = "UNetMidBlock2D";

    /// <summary>The up blocks, innermost first (<c>up_block_types</c>): <c>UpBlock2D</c> or <c>AttnUpBlock2D</c>
    /// in <see cref="UNet2DModelConfig"/>, <c>UpBlock2D</c> or <c>CrossAttnUpBlock2D</c> in <see cref="UNet2DConditionModelConfig"/>.</summary>
    /// <value>The default value is [AttnUpBlock2D, AttnUpBlock2D, AttnUpBlock2D, UpBlock2D] in <see cref="UNet2DModelConfig"/>
    /// and [UpBlock2D, CrossAttnUpBlock2D, CrossAttnUpBlock2D, CrossAttnUpBlock2D] in <see cref="UNet2DConditionModelConfig"/>.</value>
    public IReadOnlyList<string> UpBlockTypes { get; init; } = ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"];

    /// <summary>Channels of each level, outermost first (<c>block_out_channels</c>).</summary>
    /// <value>The default value is [224, 448, 672, 896] in <see cref="UNet2DModelConfig"/> and [320, 640, 1280, 1280] in <see cref="UNet2DConditionModelConfig"/>.</value>
    public IReadOnlyList<int> BlockOutChannels { get; init; } = [224, 448, 672, 896];

    /// <summary>The middle block's residual blocks (and, in <c>UNet2DModel</c>, its attention) divide their output by it (<c>mid_block_scale_factor</c>).</summary>
    /// <value>The default value is 1.</value>
    public double MidBlockScaleFactor { get; init; } = 1;

    /// <summary>Padding of the downsampling convolutions; 0 pads right and bottom by one instead (<c>downsample_padding</c>).</summary>
    /// <value>The default value is 1.</value>
    public int DownsamplePadding { get; init; } = 1;

    /// <summary>Dropout inside every residual block, in training mode (<c>dropout</c>).</summary>
    /// <value>The default value is 0.</value>
    public double Dropout { get; init; }

    /// <summary>The residual blocks' activation (<c>act_fn</c>); <c>UNet2DConditionModel</c>'s time embedding uses it too.</summary>
    /// <value>The default value is <see cref="ActivationFunction.Silu"/>.</value>
    public ActivationFunction ActFn { get; init; } = ActivationFunction.Silu;

    /// <summary>Epsilon of the residual blocks' and the output's GroupNorm (<c>norm_eps</c>); in <c>UNet2DModel</c> of the
    /// attention's too, while <c>UNet2DConditionModel</c>'s transformers use 1e-6 for their GroupNorm and 1e-5 for their LayerNorms, as in diffusers.</summary>
    /// <value>The default value is 1e-5.</value>
    public double NormEps { get; init; } = 1e-5;

    /// <summary>How the residual blocks apply the time embedding (<c>resnet_time_scale_shift</c>).</summary>
    /// <value>The default value is <see cref="Models.ResnetTimeScaleShift.Default"/>.</value>
    public ResnetTimeScaleShift ResnetTimeScaleShift { get; init; } = ResnetTimeScaleShift.Default;

    /// <summary>Number of classes of the learned class table (<c>num_class_embeds</c>); <see cref="UNet2DConditionModelConfig"/>
    /// does not support class embeddings: there it must be null.</summary>
    /// <value>The default value is null.</value>
    public int? NumClassEmbeds { get; init; }

    /// <summary>Compares all values, the lists element by element.</summary>
    /// <param name="other">The configuration to compare with.</param>
    /// <returns>True when every field is equal.</returns>
    public virtual bool Equals(DiffusersUNetConfig? other) => WritesSameJson(other);

    /// <summary>A hash of all values, consistent with <see cref="Equals(DiffusersUNetConfig?)"/>.</summary>
    /// <returns>The hash code.</returns>
    public override int GetHashCode() => JsonHash();

    /// <summary>The width of the time embedding every residual block receives.</summary>
    internal int TimeEmbedDim => TimeEmbeddingDim ?? (BlockOutChannels is { Count: > 0 } ? BlockOutChannels[0] * 4 : 0);

    /// <summary>Adds a message for every rule of the shared fields that is not about the levels: channel counts,
    /// padding, activation, time-embedding shift and width, GroupNorm epsilon, dropout, middle-block scale.</summary>
    /// <param name="errors">Receives the messages.</param>
    private protected void AddSharedViolations(List<string> errors)
    {
        ModelConfigRules.Range(errors, nameof(InChannels), "in_channels", InChannels, 1, ModelConfigRules.MaxChannels);
        ModelConfigRules.Range(errors, nameof(OutChannels), "out_channels", OutChannels, 1, ModelConfigRules.MaxChannels);
        ModelConfigRules.Range(errors, nameof(DownsamplePadding), "downsample_padding", DownsamplePadding, 0, 16);
        OptionsRules.Defined(ActFn, nameof(ActFn), "act_fn", errors);
        OptionsRules.Defined(ResnetTimeScaleShift, nameof(ResnetTimeScaleShift), "resnet_time_scale_shift", errors);
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

        if (TimeEmbeddingDim is { } dim && (dim < 1 || dim > ModelConfigRules.MaxChannels))
        {
            errors.Add($"TimeEmbeddingDim (time_embedding_dim) must lie in [1, {ModelConfigRules.MaxChannels}] or be null; got {dim}");
        }
    }
}
