using static TorchSharp.torch;

namespace Diffusion.Schedulers.Internal;

/// <summary>
/// diffusers' add_noise of the VP multistep schedulers given σ (float32) per sample: α_t·x0 + σ_t·ε with
/// α_t = 1/√(σ² + 1), σ_t = σ·α_t, in the samples' dtype (UniPC; DPM-Solver has the same formula inline). The VE form
/// x0 + σ·ε is <see cref="EulerSchedule.AddNoise"/>.
/// </summary>
internal static class SigmaNoise
{
    /// <summary>α_t·x0 + σ_t·ε (diffusers' _sigma_to_alpha_sigma_t in the samples' dtype); the caller owns the result.</summary>
    public static Tensor AddVp(Tensor originalSamples, Tensor noise, float[] sigma)
    {
        using var scope = NewDisposeScope();
        Tensor sigmaT = Broadcast(sigma, originalSamples);
        Tensor alphaT = (sigmaT.square() + 1).sqrt().reciprocal();
        Tensor sigmaTVp = sigmaT * alphaT;
        return ((alphaT * originalSamples) + (sigmaTVp * noise)).MoveToOuterDisposeScope();
    }

    /// <summary>σ as [N, 1, 1, …] in the samples' dtype and device.</summary>
    private static Tensor Broadcast(float[] sigma, Tensor samples) =>
        tensor(sigma, dtype: ScalarType.Float32).to(samples.dtype, samples.device)
            .reshape(TrainingSchedule.BroadcastShape(sigma.Length, samples.dim()));
}
