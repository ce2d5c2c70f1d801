namespace Diffusion.Schedulers.Internal;

/// <summary>
/// The denoiser of the σ-space (variance-exploding) schedulers Euler, Euler ancestral, LMS and Heun, x_σ = x0 + σ·ε (the
/// schedule itself is <see cref="SigmaTimesteps"/>). Scalars are float32 in diffusers' order of operations (its σ are float32 tensors).
/// </summary>
internal static class SigmaSpace
{
    /// <summary>x0 from the model output at σ (Karras et al. 2022's denoiser D(x; σ) for each parameterisation).</summary>
    public static Tensor PredictOriginal(PredictionType predictionType, Tensor modelOutput, Tensor sample, float sigma) => predictionType switch
    {
        PredictionType.Epsilon => sample - (modelOutput * sigma),
        PredictionType.VPrediction => (modelOutput * (-sigma / MathF.Sqrt((sigma * sigma) + 1))) + (sample / ((sigma * sigma) + 1)),
        PredictionType.Sample => modelOutput.alias(),
        _ => throw new InvalidOperationException($"Unknown prediction type {predictionType}."),
    };
}
