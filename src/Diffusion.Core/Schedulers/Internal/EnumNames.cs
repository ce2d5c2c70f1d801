namespace Diffusion.Schedulers.Internal;

/// <summary>The diffusers config strings of the scheduler enums (first name per value is the one written).</summary>
internal static class EnumNames
{
    private static readonly Dictionary<Type, (object Value, string Name)[]> Names = new()
    {
        [typeof(BetaSchedule)] =
        [
            (BetaSchedule.Linear, "linear"), (BetaSchedule.ScaledLinear, "scaled_linear"),
            (BetaSchedule.SquaredCosCapV2, "squaredcos_cap_v2"), (BetaSchedule.ClippedCosine, "clipped_cosine"),
        ],
        [typeof(PredictionType)] =
        [
            (PredictionType.Epsilon, "epsilon"), (PredictionType.VPrediction, "v_prediction"), (PredictionType.Sample, "sample"),
        ],
        [typeof(TimestepSpacing)] =
        [
            (TimestepSpacing.Leading, "leading"), (TimestepSpacing.Trailing, "trailing"), (TimestepSpacing.Linspace, "linspace"),
        ],
        [typeof(VarianceType)] =
        [
            (VarianceType.FixedSmall, "fixed_small"), (VarianceType.FixedSmallLog, "fixed_small_log"),
            (VarianceType.FixedLarge, "fixed_large"), (VarianceType.Learned, "learned"), (VarianceType.LearnedRange, "learned_range"),
        ],
        [typeof(FinalSigmasType)] = [(FinalSigmasType.Zero, "zero"), (FinalSigmasType.SigmaMin, "sigma_min")],
        [typeof(InterpolationType)] = [(InterpolationType.Linear, "linear"), (InterpolationType.LogLinear, "log_linear")],
        [typeof(DpmSolverAlgorithmType)] =
        [
            (DpmSolverAlgorithmType.DpmSolverPlusPlus, "dpmsolver++"), (DpmSolverAlgorithmType.DpmSolver, "dpmsolver"),
            (DpmSolverAlgorithmType.SdeDpmSolverPlusPlus, "sde-dpmsolver++"), (DpmSolverAlgorithmType.SdeDpmSolver, "sde-dpmsolver"),

            // diffusers maps DEIS configs onto DPM-Solver++.
            (DpmSolverAlgorithmType.DpmSolverPlusPlus, "deis"),
        ],
        [typeof(DpmSolverType)] =
        [
            (DpmSolverType.Midpoint, "midpoint"), (DpmSolverType.Heun, "heun"),

            // diffusers maps DEIS/UniPC solver types onto midpoint.
            (DpmSolverType.Midpoint, "logrho"), (DpmSolverType.Midpoint, "bh1"), (DpmSolverType.Midpoint, "bh2"),
        ],
        [typeof(UniPCSolverType)] =
        [
            (UniPCSolverType.Bh2, "bh2"), (UniPCSolverType.Bh1, "bh1"),

            // diffusers maps DPM-Solver/DEIS solver types onto bh2.
            (UniPCSolverType.Bh2, "midpoint"), (UniPCSolverType.Bh2, "heun"), (UniPCSolverType.Bh2, "logrho"),
        ],
    };

    public static bool IsKnown(Type enumType) => Names.ContainsKey(enumType);

    /// <summary>The diffusers string of <paramref name="value"/>.</summary>
    public static string ToName(Type enumType, object value) =>
        Names[enumType].First(n => n.Value.Equals(value)).Name;

    /// <summary>The value named <paramref name="name"/> (exact, case-sensitive as diffusers), or null.</summary>
    public static object? FromName(Type enumType, string name) =>
        Names[enumType].Where(n => n.Name == name).Select(n => n.Value).FirstOrDefault();

    /// <summary>The accepted strings, for error messages.</summary>
    public static string Expected(Type enumType) =>
        string.Join(", ", Names[enumType].Select(n => "\"" + n.Name + "\""));
}
