using Point = Diffusion.Schedulers.Internal.DpmSolverUpdates.Point;

namespace Diffusion.Schedulers.Internal;

/// <summary>
/// x0 and ε from a model output in VP space, x_t = α_t·x0 + σ_t·ε, for each parameterisation (the conversions of
/// DPM-Solver and UniPC; the σ-space ones are <see cref="SigmaSpace"/>).
/// </summary>
internal static class VpSpace
{
    /// <summary>x0 = (x_t − σ_t·ε)/α_t, the output itself, or α_t·x_t − σ_t·v.</summary>
    public static Tensor PredictOriginal(PredictionType predictionType, Tensor modelOutput, Tensor sample, Point p) => predictionType switch
    {
        PredictionType.Epsilon => (sample - (modelOutput * p.Sigma)) / p.Alpha,
        PredictionType.Sample => modelOutput.alias(),
        PredictionType.VPrediction => (sample * p.Alpha) - (modelOutput * p.Sigma),
        _ => throw new InvalidOperationException($"Unknown prediction type {predictionType}."),
    };

    /// <summary>ε = the output itself, (x_t − α_t·x0)/σ_t, or α_t·v + σ_t·x_t.</summary>
    public static Tensor PredictEpsilon(PredictionType predictionType, Tensor modelOutput, Tensor sample, Point p) => predictionType switch
    {
        PredictionType.Epsilon => modelOutput.alias(),
        PredictionType.Sample => (sample - (modelOutput * p.Alpha)) / p.Sigma,
        PredictionType.VPrediction => (modelOutput * p.Alpha) + (sample * p.Sigma),
        _ => throw new InvalidOperationException($"Unknown prediction type {predictionType}."),
    };
}
