using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Ancestral sampling with Euler steps in σ-space (k-diffusion's <c>sample_euler_ancestral</c>; Karras et al. 2022,
/// https://arxiv.org/abs/2206.00364, with the DDPM ancestral split of each step): every step goes deterministically
/// down to σ_down and adds fresh noise of size σ_up, with σ_down² + σ_up² = σ_next². Numerically diffusers'
/// <c>EulerAncestralDiscreteScheduler</c>, the sampler Stable Diffusion users pick most ("Euler a").
/// </summary>
/// <remarks>
/// <para>The sample lives in σ-space: start from noise × <see cref="INoiseScheduler.InitNoiseSigma"/>, and feed the
/// model <see cref="INoiseScheduler.ScaleModelInput"/>'s output (x / √(σ² + 1)).
/// <see cref="INoiseScheduler.Timesteps"/> are float32 and may be fractional (linspace spacing); pass its elements
/// back. The scheduler tracks its step like diffusers: it starts at the begin index
/// (<see cref="INoiseScheduler.SetBeginIndex"/>) or where the first timestep is, and counts up; a timestep that is not
/// the expected one moves it there, one not in the schedule is an error.</para>
/// <para>Every <see cref="Step"/> draws noise of the model output's shape, also the last one (whose σ_up is 0), so a
/// generator is consumed exactly as diffusers' is: the same seed gives the same images.</para>
/// <para><see cref="INoiseScheduler.AddNoise"/> is diffusers' σ-space x0 + σ·ε at inference timesteps;
/// <see cref="INoiseScheduler.GetVelocity"/> is the VP velocity at whole training timesteps (diffusers has none
/// here).</para>
/// </remarks>
public sealed class EulerAncestralDiscreteScheduler : SigmaNoiseScheduler<EulerAncestralDiscreteSchedulerOptions>
{
    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults.</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public EulerAncestralDiscreteScheduler(EulerAncestralDiscreteSchedulerOptions? options = null)
        : base(options ??= new(), options.Violations(), SigmaSampleSpace.VarianceExploding)
    {
    }

    /// <inheritdoc/>
    public override void SetTimesteps(int numInferenceSteps)
    {
        var (timesteps, sigmas) = SigmaTimesteps.Spread(Options, Schedule, numInferenceSteps, SigmaSpread.Interpolated);
        Steps.Set(timesteps, sigmas, 0f, numInferenceSteps);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Stochastic: the noise is <paramref name="varianceNoise"/> (the model output's shape) or a draw from
    /// <paramref name="generator"/> (from the global generator when neither is given).
    /// </remarks>
    public override SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int index = Steps.StepIndex(modelOutput, timestep, sample, generator, varianceNoise, nameof(EulerAncestralDiscreteScheduler));

        // 1. The ancestral split of the step σ → σ_next: σ_up² = σ_next²·(σ² − σ_next²)/σ², σ_down² = σ_next² − σ_up².
        float sigma = Steps.Sigmas[index];
        float sigmaTo = Steps.Sigmas[index + 1];
        float sigmaUp = MathF.Sqrt(sigmaTo * sigmaTo * ((sigma * sigma) - (sigmaTo * sigmaTo)) / (sigma * sigma));
        float sigmaDown = MathF.Sqrt((sigmaTo * sigmaTo) - (sigmaUp * sigmaUp));

        // 2. D(x; σ) = x0 from ε or v, Euler down to σ_down along d = (x − D)/σ, then add σ_up·z.
        SchedulerOutput output = SigmaSpace.EulerStep(
            Options.PredictionType, modelOutput, sample, sigma, sigmaDown,
            () => SchedulerGuard.Noise(modelOutput.shape, modelOutput.dtype, modelOutput.device, generator, varianceNoise), sigmaUp);
        Steps.Advance();
        return output;
    }

    /// <inheritdoc/>
    /// <remarks>The VP velocity √ᾱ_t·ε − √(1 − ᾱ_t)·x0 at whole training timesteps, given as int64 or as whole float32 values.</remarks>
    public override Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps) => Schedule.GetVelocityAtWholeTimesteps(sample, noise, timesteps);
}
