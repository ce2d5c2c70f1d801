using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="DdpmScheduler"/>: diffusers' <c>DDPMScheduler</c> config keys in PascalCase, with
/// diffusers' defaults. <see cref="SchedulerConfig"/> reads and writes them by their snake_case names.
/// </summary>
public sealed record DdpmSchedulerOptions : ThresholdingNoiseScheduleOptions
{
    /// <summary>Options at diffusers' defaults, among them <see cref="TimestepSpacing.Leading"/> spacing.</summary>
    public DdpmSchedulerOptions() => TimestepSpacing = TimestepSpacing.Leading;

    /// <summary>The variance of the noise a step adds (<c>variance_type</c>).</summary>
    /// <value>The default value is <see cref="VarianceType.FixedSmall"/>.</value>
    public VarianceType VarianceType { get; init; } = VarianceType.FixedSmall;

    /// <summary>Whether the predicted x0 is clipped to ±<see cref="ClipSampleRange"/> (<c>clip_sample</c>).</summary>
    /// <value>The default value is true.</value>
    public bool ClipSample { get; init; } = true;

    /// <summary>The clipping bound when <see cref="ClipSample"/> is on (<c>clip_sample_range</c>).</summary>
    /// <value>The default value is 1.0.</value>
    public double ClipSampleRange { get; init; } = 1.0;

    /// <inheritdoc/>
    private protected override void AddOwnViolations(List<string> errors)
    {
        OptionsRules.Clipping(ClipSample, ClipSampleRange, Thresholding, DynamicThresholdingRatio, SampleMaxValue, errors);
        OptionsRules.Defined(VarianceType, "VarianceType", "variance_type", errors);
    }
}
