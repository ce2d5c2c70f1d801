using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="EulerAncestralDiscreteScheduler"/>: diffusers' <c>EulerAncestralDiscreteScheduler</c> config keys
/// in PascalCase, with diffusers' defaults. <see cref="SchedulerConfig"/> reads and writes them by their snake_case names.
/// </summary>
public sealed record EulerAncestralDiscreteSchedulerOptions : ITrainingScheduleOptions
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

    /// <summary>How β is laid out over the training timesteps (<c>beta_schedule</c>; Stable Diffusion uses <see cref="BetaSchedule.ScaledLinear"/>).</summary>
    /// <value>The default value is <see cref="BetaSchedule.Linear"/>.</value>
    public BetaSchedule BetaSchedule { get; init; } = BetaSchedule.Linear;

    /// <summary>Explicit β values, one per training timestep, overriding the schedule (<c>trained_betas</c>).</summary>
    /// <value>The default value is null.</value>
    public IReadOnlyList<double>? TrainedBetas { get; init; }

    /// <summary>What the model predicts (<c>prediction_type</c>): <see cref="PredictionType.Epsilon"/> or <see cref="PredictionType.VPrediction"/> (diffusers has no x0 prediction here).</summary>
    /// <value>The default value is <see cref="PredictionType.Epsilon"/>.</value>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>How inference timesteps are picked (<c>timestep_spacing</c>).</summary>
    /// <value>The default value is <see cref="TimestepSpacing.Linspace"/>.</value>
    public TimestepSpacing TimestepSpacing { get; init; } = TimestepSpacing.Linspace;

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
        OptionsRules.EpsilonOrV(PredictionType, nameof(EulerAncestralDiscreteScheduler), errors);
        return errors;
    }
}
