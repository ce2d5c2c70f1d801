using System.Globalization;

namespace Diffusion.Schedulers.Internal;

/// <summary>Validation rules shared by the options records. Each adds "Name (json_key) must …; got …" messages.</summary>
internal static class OptionsRules
{
    /// <summary>Most training timesteps a schedule may have: far above any published model (1,000–4,000), low enough that a damaged config cannot make the schedules take gigabytes.</summary>
    public const int MaxTrainTimesteps = 1_000_000;

    public static void TrainingSchedule(NoiseScheduleOptions o, List<string> errors)
    {
        if (o.NumTrainTimesteps < 2)
        {
            errors.Add($"NumTrainTimesteps (num_train_timesteps) must be at least 2; got {o.NumTrainTimesteps}");
        }
        else if (o.NumTrainTimesteps > MaxTrainTimesteps)
        {
            errors.Add($"NumTrainTimesteps (num_train_timesteps) must be at most {MaxTrainTimesteps}; got {o.NumTrainTimesteps}");
        }

        Defined(o.BetaSchedule, "BetaSchedule", "beta_schedule", errors);
        Defined(o.PredictionType, "PredictionType", "prediction_type", errors);
        Defined(o.TimestepSpacing, "TimestepSpacing", "timestep_spacing", errors);
        if (o.TrainedBetas is { } trained)
        {
            if (trained.Count != o.NumTrainTimesteps)
            {
                errors.Add($"TrainedBetas (trained_betas) must hold NumTrainTimesteps ({o.NumTrainTimesteps}) values; got {trained.Count}");
            }

            int bad = trained.Count(b => !(b >= 0 && b < 1));
            if (bad > 0)
            {
                errors.Add($"TrainedBetas (trained_betas) must all lie in [0, 1); got {bad} outside, e.g. {F(trained.First(b => !(b >= 0 && b < 1)))}");
            }
        }
        else
        {
            if (!(o.BetaStart >= 0 && o.BetaStart < 1))
            {
                errors.Add($"BetaStart (beta_start) must lie in [0, 1); got {F(o.BetaStart)}");
            }

            if (!(o.BetaEnd > 0 && o.BetaEnd < 1))
            {
                errors.Add($"BetaEnd (beta_end) must lie in (0, 1); got {F(o.BetaEnd)}");
            }

            if (o.BetaStart > o.BetaEnd)
            {
                errors.Add($"BetaStart (beta_start) must not exceed BetaEnd (beta_end); got {F(o.BetaStart)} > {F(o.BetaEnd)}");
            }
        }

        if (o.StepsOffset < 0 || o.StepsOffset >= Math.Max(1, o.NumTrainTimesteps))
        {
            errors.Add($"StepsOffset (steps_offset) must lie in [0, NumTrainTimesteps); got {o.StepsOffset}");
        }
    }

    public static void Clipping(bool clipSample, double clipSampleRange, bool thresholding, double ratio, double sampleMax, List<string> errors)
    {
        if (clipSample && !(clipSampleRange > 0))
        {
            errors.Add($"ClipSampleRange (clip_sample_range) must be positive; got {F(clipSampleRange)}");
        }

        Thresholding(thresholding, ratio, sampleMax, errors);
    }

    public static void Thresholding(bool thresholding, double ratio, double sampleMax, List<string> errors)
    {
        if (!thresholding)
        {
            return;
        }

        if (!(ratio > 0 && ratio <= 1))
        {
            errors.Add($"DynamicThresholdingRatio (dynamic_thresholding_ratio) must lie in (0, 1]; got {F(ratio)}");
        }

        if (!(sampleMax >= 1) || double.IsPositiveInfinity(sampleMax))
        {
            errors.Add($"SampleMaxValue (sample_max_value) must be finite and at least 1; got {F(sampleMax)}");
        }
    }

    /// <summary>Karras bounds sigma_min / sigma_max: each positive and finite when given, min below max.</summary>
    public static void SigmaBounds(double? sigmaMin, double? sigmaMax, List<string> errors)
    {
        if (sigmaMin is double min && !(min > 0 && double.IsFinite(min)))
        {
            errors.Add($"SigmaMin (sigma_min) must be positive and finite; got {F(min)}");
        }

        if (sigmaMax is double max && !(max > 0 && double.IsFinite(max)))
        {
            errors.Add($"SigmaMax (sigma_max) must be positive and finite; got {F(max)}");
        }

        if (sigmaMin is double lo && sigmaMax is double hi && lo >= hi)
        {
            errors.Add($"SigmaMin (sigma_min) must be below SigmaMax (sigma_max); got {F(lo)} >= {F(hi)}");
        }
    }

    /// <summary>LMS and Heun: Karras and exponential σ exclude each other (use_karras_sigmas / use_exponential_sigmas).</summary>
    public static void OneSigmaSpread(bool useKarrasSigmas, bool useExponentialSigmas, List<string> errors)
    {
        if (useKarrasSigmas && useExponentialSigmas)
        {
            errors.Add("UseKarrasSigmas (use_karras_sigmas) and UseExponentialSigmas (use_exponential_sigmas) cannot both be true; got both");
        }
    }

    /// <summary>The multistep solvers (DPM-Solver, UniPC): a known solver type and final σ, and an order of 1 to 3.</summary>
    public static void MultistepSolver<TSolverType>(TSolverType solverType, FinalSigmasType finalSigmasType, int solverOrder, List<string> errors)
        where TSolverType : struct, Enum
    {
        Defined(solverType, "SolverType", "solver_type", errors);
        Defined(finalSigmasType, "FinalSigmasType", "final_sigmas_type", errors);
        if (solverOrder is < 1 or > 3)
        {
            errors.Add($"SolverOrder (solver_order) must be 1, 2 or 3; got {solverOrder}");
        }
    }

    /// <summary>Schedulers whose diffusers step has no x0 prediction (Euler ancestral, PNDM).</summary>
    public static void EpsilonOrV(PredictionType predictionType, string schedulerName, List<string> errors)
    {
        if (predictionType == PredictionType.Sample)
        {
            errors.Add($"PredictionType (prediction_type) must be Epsilon or VPrediction for {schedulerName} (diffusers has no x0 prediction there); got Sample");
        }
    }

    public static void Defined<TEnum>(TEnum value, string name, string key, List<string> errors)
        where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            errors.Add($"{name} ({key}) must be one of {string.Join(", ", Enum.GetNames<TEnum>())}; got {value}");
        }
    }

    public static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
