using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="HeunDiscreteScheduler"/>: diffusers' <c>HeunDiscreteScheduler</c> config keys in PascalCase, with
/// diffusers' defaults (note β from 0.00085 to 0.012, Stable Diffusion's range). <see cref="SchedulerConfig"/> reads and
/// writes them by their snake_case names.
/// </summary>
public sealed record HeunDiscreteSchedulerOptions : ITrainingScheduleOptions
{
    /// <summary>Number of diffusion steps the model is trained with (<c>num_train_timesteps</c>).</summary>
    /// <value>The default value is 1000.</value>
    public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary>β of the first training timestep (<c>beta_start</c>); the lower clip for <see cref="BetaSchedule.ClippedCosine"/>.</summary>
    /// <value>The default value is 0.00085.</value>
    public double BetaStart { get; init; } = 0.00085;

    /// <summary>β of the last training timestep (<c>beta_end</c>); the upper clip for <see cref="BetaSchedule.ClippedCosine"/>.</summary>
    /// <value>The default value is 0.012.</value>
    public double BetaEnd { get; init; } = 0.012;

    /// <summary>How β is laid out over the training timesteps (<c>beta_schedule</c>; diffusers' <c>"exp"</c> is not available here).</summary>
    /// <value>The default value is <see cref="BetaSchedule.Linear"/>.</value>
    public BetaSchedule BetaSchedule { get; init; } = BetaSchedule.Linear;

    /// <summary>Explicit β values, one per training timestep, overriding the schedule (<c>trained_betas</c>).</summary>
    /// <value>The default value is null.</value>
    public IReadOnlyList<double>? TrainedBetas { get; init; }

    /// <summary>What the model predicts (<c>prediction_type</c>).</summary>
    /// <value>The default value is <see cref="PredictionType.Epsilon"/>.</value>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>Whether σ follows Karras et al. 2022 (EDM, ρ = 7) between the schedule's smallest and largest σ (<c>use_karras_sigmas</c>).</summary>
    /// <value>The default value is false.</value>
    public bool UseKarrasSigmas { get; init; }

    /// <summary>Whether σ are evenly spaced in log σ between the schedule's smallest and largest σ (<c>use_exponential_sigmas</c>); not with <see cref="UseKarrasSigmas"/>.</summary>
    /// <value>The default value is false.</value>
    public bool UseExponentialSigmas { get; init; }

    /// <summary>Whether the predicted x0 is clipped to ±<see cref="ClipSampleRange"/> (<c>clip_sample</c>).</summary>
    /// <value>The default value is false.</value>
    public bool ClipSample { get; init; }

    /// <summary>The clipping bound when <see cref="ClipSample"/> is on (<c>clip_sample_range</c>).</summary>
    /// <value>The default value is 1.0.</value>
    public double ClipSampleRange { get; init; } = 1.0;

    /// <summary>How inference timesteps are picked (<c>timestep_spacing</c>).</summary>
    /// <value>The default value is <see cref="TimestepSpacing.Linspace"/>.</value>
    public TimestepSpacing TimestepSpacing { get; init; } = TimestepSpacing.Linspace;

    /// <summary>Added to every leading-spaced inference timestep (<c>steps_offset</c>; Stable Diffusion uses 1).</summary>
    /// <value>The default value is 0.</value>
    public int StepsOffset { get; init; }

    /// <summary>Heun has no zero-SNR rescaling in diffusers; always false.</summary>
    bool ITrainingScheduleOptions.RescaleBetasZeroSnr => false;

    /// <summary>Every rule these options break, as messages naming the option; empty when valid.</summary>
    internal List<string> Violations()
    {
        var errors = new List<string>();
        OptionsRules.TrainingSchedule(this, errors);
        OptionsRules.OneSigmaSpread(UseKarrasSigmas, UseExponentialSigmas, errors);
        OptionsRules.Clipping(ClipSample, ClipSampleRange, thresholding: false, 0, 0, errors);
        return errors;
    }
}
