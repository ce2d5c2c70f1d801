using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="LmsDiscreteScheduler"/>: diffusers' <c>LMSDiscreteScheduler</c> config keys in PascalCase, with
/// diffusers' defaults, and <see cref="LmsOrder"/> (diffusers' <c>step(order=4)</c> argument). <see cref="SchedulerConfig"/>
/// reads and writes them by their snake_case names.
/// </summary>
public sealed record LmsDiscreteSchedulerOptions : ITrainingScheduleOptions
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

    /// <summary>Whether σ follows Karras et al. 2022 (EDM, ρ = 7) between the schedule's smallest and largest σ (<c>use_karras_sigmas</c>).</summary>
    /// <value>The default value is false.</value>
    public bool UseKarrasSigmas { get; init; }

    /// <summary>Whether σ are evenly spaced in log σ between the schedule's smallest and largest σ (<c>use_exponential_sigmas</c>); not with <see cref="UseKarrasSigmas"/>.</summary>
    /// <value>The default value is false.</value>
    public bool UseExponentialSigmas { get; init; }

    /// <summary>What the model predicts (<c>prediction_type</c>).</summary>
    /// <value>The default value is <see cref="PredictionType.Epsilon"/>.</value>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>How inference timesteps are picked (<c>timestep_spacing</c>).</summary>
    /// <value>The default value is <see cref="TimestepSpacing.Linspace"/>.</value>
    public TimestepSpacing TimestepSpacing { get; init; } = TimestepSpacing.Linspace;

    /// <summary>Added to every leading-spaced inference timestep (<c>steps_offset</c>; Stable Diffusion uses 1).</summary>
    /// <value>The default value is 0.</value>
    public int StepsOffset { get; init; }

    /// <summary>
    /// The order of the linear multistep method, 1 to 4: how many past derivatives each step combines (our extra key
    /// <c>lms_order</c>; diffusers takes it as <c>step(order=…)</c>, default 4, and ignores the key in a config).
    /// </summary>
    /// <value>The default value is 4.</value>
    public int LmsOrder { get; init; } = 4;

    /// <summary>LMS has no zero-SNR rescaling in diffusers; always false.</summary>
    bool ITrainingScheduleOptions.RescaleBetasZeroSnr => false;

    /// <summary>Every rule these options break, as messages naming the option; empty when valid.</summary>
    internal List<string> Violations()
    {
        var errors = new List<string>();
        OptionsRules.TrainingSchedule(this, errors);
        OptionsRules.OneSigmaSpread(UseKarrasSigmas, UseExponentialSigmas, errors);
        if (LmsOrder is < 1 or > 4)
        {
            errors.Add($"LmsOrder (lms_order) must be 1, 2, 3 or 4; got {LmsOrder}");
        }

        return errors;
    }
}
