using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Ancestral sampling with Euler steps in σ-space (k-diffusion's <c>sample_euler_ancestral</c>; Karras et al. 2022,
/// https://arxiv.org/abs/2206.00364, with the DDPM ancestral split of each step): every step goes deterministically
/// down to σ_down and adds fresh noise of size σ_up, with σ_down² + σ_up² = σ_next². Numerically diffusers'
/// <c>EulerAncestralDiscreteScheduler</c>, the sampler Stable Diffusion users pick most ("Euler a").
/// </summary>
/// <remarks>
/// <para>The sample lives in σ-space: start from noise × <see cref="InitNoiseSigma"/>, and feed the model
/// <see cref="ScaleModelInput"/>'s output (x / √(σ² + 1)). <see cref="Timesteps"/> are float32 and may be fractional
/// (linspace spacing); pass its elements back. The scheduler tracks its step like diffusers: it starts at the begin
/// index (<see cref="SetBeginIndex"/>) or where the first timestep is, and counts up; a timestep that is not the
/// expected one moves it there, one not in the schedule is an error.</para>
/// <para>Every <see cref="Step"/> draws noise of the model output's shape, also the last one (whose σ_up is 0), so a
/// generator is consumed exactly as diffusers' is: the same seed gives the same images.</para>
/// <para><see cref="AddNoise"/> is diffusers' σ-space x0 + σ·ε at inference timesteps; <see cref="GetVelocity"/> is
/// the VP velocity at whole training timesteps (diffusers has none here).</para>
/// </remarks>
public sealed class EulerAncestralDiscreteScheduler : INoiseScheduler, IDisposable
{
    private readonly TrainingSchedule _schedule;
    private readonly SigmaTimesteps _steps;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults.</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public EulerAncestralDiscreteScheduler(EulerAncestralDiscreteSchedulerOptions? options = null)
    {
        Options = options ?? new EulerAncestralDiscreteSchedulerOptions();
        _schedule = TrainingSchedule.Validated(Options, Options.Violations(), zeroSnrFloor: true);
        _steps = new SigmaTimesteps(_schedule);
    }

    /// <summary>The options this scheduler was built with.</summary>
    public EulerAncestralDiscreteSchedulerOptions Options { get; }

    /// <inheritdoc/>
    public int NumTrainTimesteps => Options.NumTrainTimesteps;

    /// <inheritdoc/>
    public Tensor Timesteps => _steps.Tensor;

    /// <inheritdoc/>
    public Tensor AlphasCumprod => _schedule.AlphasCumprodTensor;

    /// <summary>σ of each inference timestep plus the final 0, float32 (a copy).</summary>
    public IReadOnlyList<float> Sigmas => _steps.Sigmas.ToArray();

    /// <inheritdoc/>
    /// <remarks>The largest σ, or √(σmax² + 1) for leading spacing (diffusers).</remarks>
    public double InitNoiseSigma => _steps.InitNoiseSigma(Options.TimestepSpacing);

    /// <inheritdoc/>
    public PredictionType PredictionType => Options.PredictionType;

    /// <inheritdoc/>
    public int Order => 1;

    /// <summary>The number of inference steps last set, or null before <see cref="SetTimesteps"/>.</summary>
    public int? NumInferenceSteps => _steps.NumInferenceSteps;

    /// <inheritdoc/>
    public void SetTimesteps(int numInferenceSteps)
    {
        double[] timesteps = SigmaTimesteps.SpacedTimesteps(Options, numInferenceSteps);
        _steps.Set(timesteps, SigmaTimesteps.Interpolate(timesteps, _schedule.Sigmas()), 0f, numInferenceSteps);
    }

    /// <inheritdoc/>
    /// <remarks>The first <see cref="Step"/> after it is taken at <paramref name="beginIndex"/> (where its timestep is that element of <see cref="Timesteps"/>).</remarks>
    public void SetBeginIndex(int beginIndex) => _steps.SetBeginIndex(beginIndex, nameof(EulerAncestralDiscreteScheduler));

    /// <inheritdoc/>
    /// <remarks>x / √(σ² + 1): the model sees unit-variance input.</remarks>
    public Tensor ScaleModelInput(Tensor sample, Tensor timestep) => _steps.ScaleModelInput(sample, timestep);

    /// <inheritdoc/>
    /// <remarks>
    /// Stochastic: the noise is <paramref name="varianceNoise"/> (the model output's shape) or a draw from
    /// <paramref name="generator"/> (from the global generator when neither is given).
    /// </remarks>
    public SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int index = _steps.StepIndex(modelOutput, timestep, sample, generator, varianceNoise, nameof(EulerAncestralDiscreteScheduler));
        float[] sigmas = _steps.Sigmas;

        using var scope = NewDisposeScope();
        Tensor x = sample.to_type(ScalarType.Float32);

        // 1. Denoised estimate D(x; σ) = x0 from ε or v.
        float sigma = sigmas[index];
        Tensor predOriginalSample = SigmaSpace.PredictOriginal(Options.PredictionType, modelOutput, x, sigma);

        // 2. The ancestral split of the step σ → σ_next: σ_up² = σ_next²·(σ² − σ_next²)/σ², σ_down² = σ_next² − σ_up².
        float sigmaTo = sigmas[index + 1];
        float sigmaUp = MathF.Sqrt(sigmaTo * sigmaTo * ((sigma * sigma) - (sigmaTo * sigmaTo)) / (sigma * sigma));
        float sigmaDown = MathF.Sqrt((sigmaTo * sigmaTo) - (sigmaUp * sigmaUp));

        // 3. Euler down to σ_down along d = (x − D)/σ, then add σ_up·z.
        Tensor derivative = (x - predOriginalSample) / sigma;
        Tensor prevSample = x + (derivative * (sigmaDown - sigma));
        Tensor noise = SchedulerGuard.Noise(modelOutput.shape, modelOutput.dtype, modelOutput.device, generator, varianceNoise);
        prevSample = (prevSample + (noise * sigmaUp)).to_type(modelOutput.dtype);

        _steps.Advance();
        return new SchedulerOutput(prevSample.MoveToOuterDisposeScope(), predOriginalSample.MoveToOuterDisposeScope());
    }

    /// <inheritdoc/>
    /// <remarks>
    /// x0 + σ·ε with σ of each timestep's place in <see cref="Timesteps"/> (diffusers); every timestep must be in it.
    /// After <see cref="SetBeginIndex"/> the begin index (or the current step) is that place where the timestep is there.
    /// </remarks>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps) => _steps.AddNoise(originalSamples, noise, timesteps);

    /// <inheritdoc/>
    /// <remarks>The VP velocity √ᾱ_t·ε − √(1 − ᾱ_t)·x0 at whole training timesteps.</remarks>
    public Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps) => _schedule.GetVelocityAtWholeTimesteps(sample, noise, timesteps);

    /// <summary>Frees the scheduler's tensors.</summary>
    public void Dispose()
    {
        _schedule.Dispose();
        _steps.Dispose();
    }
}
