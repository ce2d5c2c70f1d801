using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// The options every scheduler shares: how the training noise schedule is built, what the model predicts and how the
/// inference timesteps are picked (diffusers' config keys in PascalCase, with diffusers' defaults). Each scheduler's
/// options record derives from this one and adds its own; <see cref="SchedulerConfig"/> reads and writes every property
/// by its snake_case name.
/// </summary>
/// <remarks>Only this library's options records derive from it.</remarks>
public abstract record NoiseScheduleOptions
{
    /// <summary>Sets the defaults most schedulers share; a derived record's constructor sets those where its scheduler differs.</summary>
    private protected NoiseScheduleOptions()
    {
    }

    /// <summary>Number of diffusion steps the model is trained with (<c>num_train_timesteps</c>).</summary>
    /// <value>The default value is 1000.</value>
    public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary>β of the first training timestep (<c>beta_start</c>); the lower clip for <see cref="BetaSchedule.ClippedCosine"/>.</summary>
    /// <value>The default value is 0.0001 (0.00085 in <see cref="HeunDiscreteSchedulerOptions"/>).</value>
    public double BetaStart { get; init; } = 0.0001;

    /// <summary>β of the last training timestep (<c>beta_end</c>); the upper clip for <see cref="BetaSchedule.ClippedCosine"/>.</summary>
    /// <value>The default value is 0.02 (0.012 in <see cref="HeunDiscreteSchedulerOptions"/>).</value>
    public double BetaEnd { get; init; } = 0.02;

    /// <summary>How β is laid out over the training timesteps (<c>beta_schedule</c>; Stable Diffusion uses <see cref="BetaSchedule.ScaledLinear"/>).</summary>
    /// <value>The default value is <see cref="BetaSchedule.Linear"/>.</value>
    public BetaSchedule BetaSchedule { get; init; } = BetaSchedule.Linear;

    /// <summary>Explicit β values, one per training timestep, overriding the schedule (<c>trained_betas</c>).</summary>
    /// <value>The default value is null.</value>
    public IReadOnlyList<double>? TrainedBetas { get; init; }

    /// <summary>
    /// What the model predicts (<c>prediction_type</c>). <see cref="EulerAncestralDiscreteSchedulerOptions"/> and
    /// <see cref="PNDMSchedulerOptions"/> take only <see cref="PredictionType.Epsilon"/> or
    /// <see cref="PredictionType.VPrediction"/> (diffusers has no x0 prediction there).
    /// </summary>
    /// <value>The default value is <see cref="PredictionType.Epsilon"/>.</value>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>How inference timesteps are picked (<c>timestep_spacing</c>).</summary>
    /// <value>
    /// The default value is <see cref="TimestepSpacing.Linspace"/>, and <see cref="TimestepSpacing.Leading"/> in
    /// <see cref="DdpmSchedulerOptions"/>, <see cref="DdimSchedulerOptions"/> and <see cref="PNDMSchedulerOptions"/>
    /// (diffusers' defaults).
    /// </value>
    public TimestepSpacing TimestepSpacing { get; init; } = TimestepSpacing.Linspace;

    /// <summary>Added to every leading-spaced inference timestep (<c>steps_offset</c>; Stable Diffusion uses 1).</summary>
    /// <value>The default value is 0.</value>
    public int StepsOffset { get; init; }

    /// <summary>
    /// Whether β is rescaled to zero terminal SNR: the scheduler's <c>RescaleBetasZeroSnr</c> option where it has one,
    /// false where diffusers has none (PNDM, LMS, Heun). The training-schedule helpers read it.
    /// </summary>
    internal virtual bool RescalesBetasToZeroSnr => false;

    /// <summary>Every rule these options break, as messages naming the option; empty when valid.</summary>
    internal List<string> Violations()
    {
        var errors = new List<string>();
        OptionsRules.TrainingSchedule(this, errors);
        AddOwnViolations(errors);
        return errors;
    }

    /// <summary>Adds a message for every rule the scheduler's own options break, after the training schedule's.</summary>
    private protected abstract void AddOwnViolations(List<string> errors);
}
