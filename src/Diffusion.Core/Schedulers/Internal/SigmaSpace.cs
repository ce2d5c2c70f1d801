using static TorchSharp.torch;

namespace Diffusion.Schedulers.Internal;

/// <summary>
/// The σ-space (variance-exploding) pieces the Euler-type schedulers share (LMS, Heun): x_σ = x0 + σ·ε, the model
/// fed x/√(σ² + 1). Scalars are float32 in diffusers' order of operations (its σ are float32 tensors).
/// </summary>
internal static class SigmaSpace
{
    /// <summary>diffusers' init_noise_sigma: the largest σ, or √(σmax² + 1) for leading spacing.</summary>
    public static double InitNoiseSigma(float[] sigmas, TimestepSpacing spacing)
    {
        float max = sigmas.Max();
        return spacing == TimestepSpacing.Leading ? MathF.Sqrt((max * max) + 1) : max;
    }

    /// <summary>x / √(σ² + 1); the caller owns the result.</summary>
    public static Tensor ScaleInput(Tensor sample, float sigma) => sample / MathF.Sqrt((sigma * sigma) + 1);

    /// <summary>x0 from the model output at σ (Karras et al. 2022's denoiser D(x; σ) for each parameterisation).</summary>
    public static Tensor PredictOriginal(PredictionType predictionType, Tensor modelOutput, Tensor sample, float sigma) => predictionType switch
    {
        PredictionType.Epsilon => sample - (modelOutput * sigma),
        PredictionType.VPrediction => (modelOutput * (-sigma / MathF.Sqrt((sigma * sigma) + 1))) + (sample / ((sigma * sigma) + 1)),
        PredictionType.Sample => modelOutput.alias(),
        _ => throw new InvalidOperationException($"Unknown prediction type {predictionType}."),
    };
}
