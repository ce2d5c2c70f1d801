using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="DpmSolverMultistepScheduler"/>: diffusers' <c>DPMSolverMultistepScheduler</c> config keys in PascalCase, with
/// diffusers' defaults. <see cref="SchedulerConfig"/> reads and writes them by their snake_case names.
/// </summary>
public sealed record DpmSolverMultistepSchedulerOptions : ThresholdingNoiseScheduleOptions
{
    /// <summary>The order of the multistep solver, 1 to 3; 2 is recommended for guided sampling (<c>solver_order</c>).</summary>
    /// <value>The default value is 2.</value>
    public int SolverOrder { get; init; } = 2;

    /// <summary>Which DPM-Solver variant steps the sample (<c>algorithm_type</c>).</summary>
    /// <value>The default value is <see cref="DpmSolverAlgorithmType.DpmSolverPlusPlus"/>.</value>
    public DpmSolverAlgorithmType AlgorithmType { get; init; } = DpmSolverAlgorithmType.DpmSolverPlusPlus;

    /// <summary>The second-order update rule (<c>solver_type</c>).</summary>
    /// <value>The default value is <see cref="DpmSolverType.Midpoint"/>.</value>
    public DpmSolverType SolverType { get; init; } = DpmSolverType.Midpoint;

    /// <summary>Whether the last steps use lower orders when there are fewer than 15 steps (<c>lower_order_final</c>).</summary>
    /// <value>The default value is true.</value>
    public bool LowerOrderFinal { get; init; } = true;

    /// <summary>Whether the very last step is a first-order (Euler) step whatever the step count (<c>euler_at_final</c>).</summary>
    /// <value>The default value is false.</value>
    public bool EulerAtFinal { get; init; }

    /// <summary>Whether σ follows Karras et al. 2022 (EDM, ρ = 7) (<c>use_karras_sigmas</c>).</summary>
    /// <value>The default value is false.</value>
    public bool UseKarrasSigmas { get; init; }

    /// <summary>Where the last step ends: σ = 0 or the smallest training σ (<c>final_sigmas_type</c>). The noise-prediction algorithms need <see cref="FinalSigmasType.SigmaMin"/>.</summary>
    /// <value>The default value is <see cref="FinalSigmasType.Zero"/>.</value>
    public FinalSigmasType FinalSigmasType { get; init; } = FinalSigmasType.Zero;

    /// <summary>Training timesteps whose λ = log(α/σ) is below this are not sampled (<c>lambda_min_clipped</c>; −5.1 helps cosine schedules).</summary>
    /// <value>The default value is negative infinity (no clipping).</value>
    public double LambdaMinClipped { get; init; } = double.NegativeInfinity;

    /// <summary>Set when the model also outputs a variance (ignored by the solver): the first C of 2C channels are the prediction (<c>variance_type</c>; epsilon prediction only).</summary>
    /// <value>The default value is null.</value>
    public VarianceType? VarianceType { get; init; }

    /// <inheritdoc/>
    private protected override void AddOwnViolations(List<string> errors)
    {
        OptionsRules.Thresholding(Thresholding, DynamicThresholdingRatio, SampleMaxValue, errors);
        OptionsRules.Defined(AlgorithmType, "AlgorithmType", "algorithm_type", errors);
        OptionsRules.MultistepSolver(SolverType, FinalSigmasType, SolverOrder, errors);

        bool noisePrediction = AlgorithmType is DpmSolverAlgorithmType.DpmSolver or DpmSolverAlgorithmType.SdeDpmSolver;
        if (noisePrediction && FinalSigmasType == FinalSigmasType.Zero)
        {
            errors.Add($"FinalSigmasType (final_sigmas_type) Zero is not supported with AlgorithmType (algorithm_type) {AlgorithmType}; use SigmaMin");
        }

        if (AlgorithmType == DpmSolverAlgorithmType.SdeDpmSolver && SolverOrder == 3)
        {
            errors.Add("SolverOrder (solver_order) 3 is not available for AlgorithmType (algorithm_type) SdeDpmSolver; use 1 or 2");
        }

        if (VarianceType is { } variance)
        {
            if (variance is not (Schedulers.VarianceType.Learned or Schedulers.VarianceType.LearnedRange))
            {
                errors.Add($"VarianceType (variance_type) must be null, Learned or LearnedRange; got {variance}");
            }

            if (PredictionType != PredictionType.Epsilon)
            {
                errors.Add($"VarianceType (variance_type) {variance} needs PredictionType (prediction_type) Epsilon; got {PredictionType}");
            }
        }

        if (double.IsNaN(LambdaMinClipped) || double.IsPositiveInfinity(LambdaMinClipped))
        {
            errors.Add($"LambdaMinClipped (lambda_min_clipped) must be finite or negative infinity; got {OptionsRules.F(LambdaMinClipped)}");
        }
    }
}
