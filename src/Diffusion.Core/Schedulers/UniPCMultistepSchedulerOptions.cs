using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="UniPCMultistepScheduler"/>: diffusers' <c>UniPCMultistepScheduler</c> config keys in PascalCase,
/// with diffusers' defaults. <see cref="SchedulerConfig"/> reads and writes them by their snake_case names. diffusers'
/// flow-matching keys (<c>use_flow_sigmas</c>, <c>flow_shift</c>, <c>use_dynamic_shifting</c>, <c>time_shift_type</c>,
/// <c>shift_terminal</c>), <c>use_exponential_sigmas</c> (its truncated timesteps depend on the last bit of numpy's
/// log, so not even diffusers agrees with itself across CPUs), <c>use_beta_sigmas</c> and <c>solver_p</c> load only at
/// their defaults.
/// </summary>
public sealed record UniPCMultistepSchedulerOptions : ITrainingScheduleOptions
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

    /// <summary>The order of the predictor, 1 to 3 (the corrector adds one); 2 is recommended for guided sampling, 3 for unconditional (<c>solver_order</c>).</summary>
    /// <value>The default value is 2.</value>
    public int SolverOrder { get; init; } = 2;

    /// <summary>What the model predicts (<c>prediction_type</c>).</summary>
    /// <value>The default value is <see cref="PredictionType.Epsilon"/>.</value>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>Whether the predicted x0 is dynamically thresholded (Imagen; <c>thresholding</c>); needs <see cref="PredictX0"/>.</summary>
    /// <value>The default value is false.</value>
    public bool Thresholding { get; init; }

    /// <summary>The percentile of |x0| dynamic thresholding uses (<c>dynamic_thresholding_ratio</c>).</summary>
    /// <value>The default value is 0.995.</value>
    public double DynamicThresholdingRatio { get; init; } = 0.995;

    /// <summary>The largest threshold dynamic thresholding may pick (<c>sample_max_value</c>).</summary>
    /// <value>The default value is 1.0.</value>
    public double SampleMaxValue { get; init; } = 1.0;

    /// <summary>Whether the solver works on x0 predictions (UniPC's data-prediction form, like DPM-Solver++) rather than ε (<c>predict_x0</c>).</summary>
    /// <value>The default value is true.</value>
    public bool PredictX0 { get; init; } = true;

    /// <summary>B(h) of the update (<c>solver_type</c>; diffusers reads "midpoint", "heun" and "logrho" as bh2).</summary>
    /// <value>The default value is <see cref="UniPCSolverType.Bh2"/>.</value>
    public UniPCSolverType SolverType { get; init; } = UniPCSolverType.Bh2;

    /// <summary>Whether the last steps use lower orders (order at most the steps left; <c>lower_order_final</c>). Needed with a final σ of 0.</summary>
    /// <value>The default value is true.</value>
    public bool LowerOrderFinal { get; init; } = true;

    /// <summary>Step indices whose following step skips the corrector (UniC), e.g. [0] for strong guidance (<c>disable_corrector</c>).</summary>
    /// <value>The default value is empty.</value>
    public IReadOnlyList<int> DisableCorrector { get; init; } = [];

    /// <summary>Whether σ follows Karras et al. 2022 (EDM, ρ = 7) between <see cref="SigmaMin"/> and <see cref="SigmaMax"/> (<c>use_karras_sigmas</c>).</summary>
    /// <value>The default value is false.</value>
    public bool UseKarrasSigmas { get; init; }

    /// <summary>How inference timesteps are picked (<c>timestep_spacing</c>).</summary>
    /// <value>The default value is <see cref="TimestepSpacing.Linspace"/>.</value>
    public TimestepSpacing TimestepSpacing { get; init; } = TimestepSpacing.Linspace;

    /// <summary>Added to every leading-spaced inference timestep (<c>steps_offset</c>; Stable Diffusion uses 1).</summary>
    /// <value>The default value is 0.</value>
    public int StepsOffset { get; init; }

    /// <summary>Where the last step ends: σ = 0 or the smallest σ of the schedule (<c>final_sigmas_type</c>).</summary>
    /// <value>The default value is <see cref="FinalSigmasType.Zero"/>.</value>
    public FinalSigmasType FinalSigmasType { get; init; } = FinalSigmasType.Zero;

    /// <summary>Whether β is rescaled so the last timestep has zero SNR (<c>rescale_betas_zero_snr</c>, Lin et al. 2023).</summary>
    /// <value>The default value is false.</value>
    public bool RescaleBetasZeroSnr { get; init; }

    /// <summary>The smallest σ of a Karras schedule; null takes the schedule's (<c>sigma_min</c>).</summary>
    /// <value>The default value is null.</value>
    public double? SigmaMin { get; init; }

    /// <summary>The largest σ of a Karras schedule; null takes the schedule's (<c>sigma_max</c>).</summary>
    /// <value>The default value is null.</value>
    public double? SigmaMax { get; init; }

    /// <summary>Every rule these options break, as messages naming the option; empty when valid.</summary>
    internal List<string> Violations()
    {
        var errors = new List<string>();
        OptionsRules.TrainingSchedule(this, errors);
        OptionsRules.Thresholding(Thresholding, DynamicThresholdingRatio, SampleMaxValue, errors);
        OptionsRules.MultistepSolver(SolverType, FinalSigmasType, SolverOrder, errors);

        if (!LowerOrderFinal && SolverOrder > 1 && FinalSigmasType == FinalSigmasType.Zero)
        {
            errors.Add("LowerOrderFinal (lower_order_final) false needs FinalSigmasType (final_sigmas_type) SigmaMin when SolverOrder (solver_order) > 1: a higher-order last step to σ = 0 divides by a zero λ ratio (diffusers returns -inf); got Zero");
        }

        if (!PredictX0 && FinalSigmasType == FinalSigmasType.Zero)
        {
            errors.Add("PredictX0 (predict_x0) false needs FinalSigmasType (final_sigmas_type) SigmaMin: the noise-prediction update to σ = 0 multiplies 0 by e^∞ (diffusers returns NaN); got Zero");
        }

        if (Thresholding && !PredictX0)
        {
            errors.Add("Thresholding (thresholding) needs PredictX0 (predict_x0) true; got false");
        }

        if (DisableCorrector is null)
        {
            errors.Add("DisableCorrector (disable_corrector) must be a list of step indices; got null");
        }
        else if (DisableCorrector.FirstOrDefault(i => i < 0, 0) is int negative && negative < 0)
        {
            errors.Add($"DisableCorrector (disable_corrector) must hold step indices (0 or more); got {negative}");
        }

        OptionsRules.SigmaBounds(SigmaMin, SigmaMax, errors);
        return errors;
    }
}
