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
public sealed record UniPCMultistepSchedulerOptions : ThresholdingNoiseScheduleOptions
{
    /// <summary>The order of the predictor, 1 to 3 (the corrector adds one); 2 is recommended for guided sampling, 3 for unconditional (<c>solver_order</c>).</summary>
    /// <value>The default value is 2.</value>
    public int SolverOrder { get; init; } = 2;

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

    /// <summary>Where the last step ends: σ = 0 or the smallest σ of the schedule (<c>final_sigmas_type</c>).</summary>
    /// <value>The default value is <see cref="FinalSigmasType.Zero"/>.</value>
    public FinalSigmasType FinalSigmasType { get; init; } = FinalSigmasType.Zero;

    /// <summary>The smallest σ of a Karras schedule; null takes the schedule's (<c>sigma_min</c>).</summary>
    /// <value>The default value is null.</value>
    public double? SigmaMin { get; init; }

    /// <summary>The largest σ of a Karras schedule; null takes the schedule's (<c>sigma_max</c>).</summary>
    /// <value>The default value is null.</value>
    public double? SigmaMax { get; init; }

    /// <inheritdoc/>
    private protected override void AddOwnViolations(List<string> errors)
    {
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
    }
}
