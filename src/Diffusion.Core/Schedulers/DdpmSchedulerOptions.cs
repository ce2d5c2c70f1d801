using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="DdpmScheduler"/>: diffusers' <c>DDPMScheduler</c> config keys in PascalCase, with
/// diffusers' defaults. <see cref="SchedulerConfig"/> reads and writes them by their snake_case names.
/// </summary>
public sealed record DdpmSchedulerOptions : ITrainingScheduleOptions
{
    /// <summary>Number of diffusion steps the model is trained with (<c>num_train_timesteps</c>).</summary>
    /// <value>The default value is 1000.</value>
    public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary>β of the first training timestep (<c>beta_start</c>); the lower clip for <see cref="BetaSchedule.ClippedCosine"/>.</summary>
    /// <value>The default value is 0.0001.</value>
    public double BetaStart { get; init; } = 0.0001;

    /// <summary>β of the last training timestep (<c>beta_end</c>); the upper clip for <see cref="BetaSchedule.ClippedCosine"/>.</summary>
    /// <value>The default value is 0.02.</value>
    public double BetaEnd { get; init; } = 0.02;

    /// <summary>How β is laid out over the training timesteps (<c>beta_schedule</c>).</summary>
    /// <value>The default value is <see cref="BetaSchedule.Linear"/>.</value>
    public BetaSchedule BetaSchedule { get; init; } = BetaSchedule.Linear;

    /// <summary>Explicit β values, one per training timestep, overriding the schedule (<c>trained_betas</c>).</summary>
    /// <value>The default value is null.</value>
    public IReadOnlyList<double>? TrainedBetas { get; init; }

    /// <summary>The variance of the noise a step adds (<c>variance_type</c>).</summary>
    /// <value>The default value is <see cref="VarianceType.FixedSmall"/>.</value>
    public VarianceType VarianceType { get; init; } = VarianceType.FixedSmall;

    /// <summary>Whether the predicted x0 is clipped to ±<see cref="ClipSampleRange"/> (<c>clip_sample</c>).</summary>
    /// <value>The default value is true.</value>
    public bool ClipSample { get; init; } = true;

    /// <summary>What the model predicts (<c>prediction_type</c>).</summary>
    /// <value>The default value is <see cref="PredictionType.Epsilon"/>.</value>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>Whether the predicted x0 is dynamically thresholded (Imagen) instead of clipped (<c>thresholding</c>).</summary>
    /// <value>The default value is false.</value>
    public bool Thresholding { get; init; }

    /// <summary>The percentile of |x0| dynamic thresholding uses (<c>dynamic_thresholding_ratio</c>).</summary>
    /// <value>The default value is 0.995.</value>
    public double DynamicThresholdingRatio { get; init; } = 0.995;

    /// <summary>The clipping bound when <see cref="ClipSample"/> is on (<c>clip_sample_range</c>).</summary>
    /// <value>The default value is 1.0.</value>
    public double ClipSampleRange { get; init; } = 1.0;

    /// <summary>The largest threshold dynamic thresholding may pick (<c>sample_max_value</c>).</summary>
    /// <value>The default value is 1.0.</value>
    public double SampleMaxValue { get; init; } = 1.0;

    /// <summary>How inference timesteps are picked (<c>timestep_spacing</c>).</summary>
    /// <value>The default value is <see cref="TimestepSpacing.Leading"/>.</value>
    public TimestepSpacing TimestepSpacing { get; init; } = TimestepSpacing.Leading;

    /// <summary>Added to every leading-spaced inference timestep (<c>steps_offset</c>; Stable Diffusion uses 1).</summary>
    /// <value>The default value is 0.</value>
    public int StepsOffset { get; init; }

    /// <summary>Whether β is rescaled so the last timestep has zero SNR (<c>rescale_betas_zero_snr</c>, Lin et al. 2023).</summary>
    /// <value>The default value is false.</value>
    public bool RescaleBetasZeroSnr { get; init; }

    /// <summary>Every rule these options break, as messages naming the option; empty when valid.</summary>
    internal List<string> Violations()
    {
        var errors = new List<string>();
        OptionsRules.TrainingSchedule(this, errors);
        OptionsRules.Clipping(ClipSample, ClipSampleRange, Thresholding, DynamicThresholdingRatio, SampleMaxValue, errors);
        OptionsRules.Defined(VarianceType, "VarianceType", "variance_type", errors);
        return errors;
    }
}
