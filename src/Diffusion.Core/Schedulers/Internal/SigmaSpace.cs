namespace Diffusion.Schedulers.Internal;

/// <summary>
/// The denoiser and the Euler step of the σ-space (variance-exploding) schedulers Euler, Euler ancestral, LMS and Heun,
/// x_σ = x0 + σ·ε (the schedule itself is <see cref="SigmaTimesteps"/>). Scalars are float32 in diffusers' order of
/// operations (its σ are float32 tensors).
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

    /// <summary>
    /// One Euler step of the probability-flow ODE from σ down to σ_down (Karras et al. 2022, Algorithm 2, lines 7–8, in
    /// float32): x0 = D(x; σ), d = (x − D)/σ, x + (σ_down − σ)·d, then + σ_up·z where <paramref name="noise"/> draws z
    /// (the ancestral sampler; plain Euler has σ_down = σ_next and no noise). Both tensors are owned by the caller; the
    /// previous sample is in the model output's dtype.
    /// </summary>
    /// <param name="predictionType">What the model predicts.</param>
    /// <param name="modelOutput">The model output.</param>
    /// <param name="sample">The sample at σ.</param>
    /// <param name="sigma">σ of this step (σ̂ for Karras' churn, here without churn).</param>
    /// <param name="sigmaDown">Where the deterministic step ends.</param>
    /// <param name="noise">Draws z (the model output's shape), or null for a deterministic step.</param>
    /// <param name="sigmaUp">The size of the fresh noise.</param>
    public static SchedulerOutput EulerStep(PredictionType predictionType, Tensor modelOutput, Tensor sample, float sigma, float sigmaDown, Func<Tensor>? noise = null, float sigmaUp = 0f)
    {
        using var scope = NewDisposeScope();
        Tensor x = sample.to_type(ScalarType.Float32);
        Tensor predOriginalSample = PredictOriginal(predictionType, modelOutput, x, sigma);
        Tensor derivative = (x - predOriginalSample) / sigma;
        Tensor prevSample = x + (derivative * (sigmaDown - sigma));
        if (noise is not null)
        {
            prevSample = prevSample + (noise() * sigmaUp);
        }

        return new SchedulerOutput(prevSample.to_type(modelOutput.dtype).MoveToOuterDisposeScope(), predOriginalSample.MoveToOuterDisposeScope());
    }
}
