using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="PNDMScheduler"/>: diffusers' <c>PNDMScheduler</c> config keys in PascalCase, with diffusers'
/// defaults. <see cref="SchedulerConfig"/> reads and writes them by their snake_case names. Stable Diffusion 1.x saves
/// <c>skip_prk_steps: true</c>, <c>steps_offset: 1</c>, <c>set_alpha_to_one: false</c> and its scaled-linear β.
/// </summary>
public sealed record PNDMSchedulerOptions : ITrainingScheduleOptions
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

    /// <summary>
    /// Whether the Runge–Kutta warm-up (three steps of four model calls) is skipped, so that linear multistep runs from
    /// the start with a second-order first step (<c>skip_prk_steps</c>; Stable Diffusion saves true).
    /// </summary>
    /// <value>The default value is false.</value>
    public bool SkipPrkSteps { get; init; }

    /// <summary>Whether the last step ends at ᾱ = 1 (true) or at ᾱ_0 (false) (<c>set_alpha_to_one</c>).</summary>
    /// <value>The default value is false.</value>
    public bool SetAlphaToOne { get; init; }

    /// <summary>What the model predicts (<c>prediction_type</c>): <see cref="PredictionType.Epsilon"/> or <see cref="PredictionType.VPrediction"/> (diffusers has no x0 prediction here).</summary>
    /// <value>The default value is <see cref="PredictionType.Epsilon"/>.</value>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>How inference timesteps are picked (<c>timestep_spacing</c>).</summary>
    /// <value>The default value is <see cref="TimestepSpacing.Leading"/>.</value>
    public TimestepSpacing TimestepSpacing { get; init; } = TimestepSpacing.Leading;

    /// <summary>Added to every leading-spaced inference timestep (<c>steps_offset</c>; Stable Diffusion uses 1).</summary>
    /// <value>The default value is 0.</value>
    public int StepsOffset { get; init; }

    /// <summary>diffusers' PNDM has no zero-SNR rescaling.</summary>
    bool ITrainingScheduleOptions.RescaleBetasZeroSnr => false;

    /// <summary>Every rule these options break, as messages naming the option; empty when valid.</summary>
    internal List<string> Violations()
    {
        var errors = new List<string>();
        OptionsRules.TrainingSchedule(this, errors);
        OptionsRules.EpsilonOrV(PredictionType, nameof(PNDMScheduler), errors);
        return errors;
    }
}
