using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="EulerDiscreteScheduler"/>: diffusers' <c>EulerDiscreteScheduler</c> config keys in PascalCase, with
/// diffusers' defaults. <see cref="SchedulerConfig"/> reads and writes them by their snake_case names.
/// </summary>
public sealed record EulerDiscreteSchedulerOptions : ITrainingScheduleOptions
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

    /// <summary>What the model predicts (<c>prediction_type</c>).</summary>
    /// <value>The default value is <see cref="PredictionType.Epsilon"/>.</value>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>How the σ of the inference timesteps is computed (<c>interpolation_type</c>).</summary>
    /// <value>The default value is <see cref="InterpolationType.Linear"/>.</value>
    public InterpolationType InterpolationType { get; init; } = InterpolationType.Linear;

    /// <summary>Whether σ follows Karras et al. 2022 (EDM, ρ = 7) between <see cref="SigmaMin"/> and <see cref="SigmaMax"/> (<c>use_karras_sigmas</c>).</summary>
    /// <value>The default value is false.</value>
    public bool UseKarrasSigmas { get; init; }

    /// <summary>The smallest σ of a Karras schedule; null takes the schedule's (<c>sigma_min</c>).</summary>
    /// <value>The default value is null.</value>
    public double? SigmaMin { get; init; }

    /// <summary>The largest σ of a Karras schedule; null takes the schedule's (<c>sigma_max</c>).</summary>
    /// <value>The default value is null.</value>
    public double? SigmaMax { get; init; }

    /// <summary>How inference timesteps are picked (<c>timestep_spacing</c>).</summary>
    /// <value>The default value is <see cref="TimestepSpacing.Linspace"/>.</value>
    public TimestepSpacing TimestepSpacing { get; init; } = TimestepSpacing.Linspace;

    /// <summary>Added to every leading-spaced inference timestep (<c>steps_offset</c>; Stable Diffusion uses 1).</summary>
    /// <value>The default value is 0.</value>
    public int StepsOffset { get; init; }

    /// <summary>Whether β is rescaled so the last timestep has zero SNR (<c>rescale_betas_zero_snr</c>, Lin et al. 2023).</summary>
    /// <value>The default value is false.</value>
    public bool RescaleBetasZeroSnr { get; init; }

    /// <summary>Where the last step ends: σ = 0 or the smallest training σ (<c>final_sigmas_type</c>).</summary>
    /// <value>The default value is <see cref="FinalSigmasType.Zero"/>.</value>
    public FinalSigmasType FinalSigmasType { get; init; } = FinalSigmasType.Zero;

    /// <summary>Every rule these options break, as messages naming the option; empty when valid.</summary>
    internal List<string> Violations()
    {
        var errors = new List<string>();
        OptionsRules.TrainingSchedule(this, errors);
        OptionsRules.Defined(InterpolationType, "InterpolationType", "interpolation_type", errors);
        OptionsRules.Defined(FinalSigmasType, "FinalSigmasType", "final_sigmas_type", errors);
        OptionsRules.SigmaBounds(SigmaMin, SigmaMax, errors);
        return errors;
    }
}
