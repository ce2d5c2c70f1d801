using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Euler's method on the probability-flow ODE in σ-space (Karras et al. 2022, Algorithm 2 without churn,
/// https://arxiv.org/abs/2206.00364). Numerically diffusers' <c>EulerDiscreteScheduler</c> (s_churn = 0).
/// </summary>
/// <remarks>
/// <para>The sample lives in σ-space: start from noise × <see cref="INoiseScheduler.InitNoiseSigma"/>, and feed the
/// model <see cref="INoiseScheduler.ScaleModelInput"/>'s output (x / √(σ² + 1)).
/// <see cref="INoiseScheduler.Timesteps"/> are float32 and may be fractional (linspace spacing); pass its elements
/// back. Integer tensors are accepted and compared by value.</para>
/// <para>The scheduler tracks its step like diffusers (it starts at the begin index,
/// <see cref="INoiseScheduler.SetBeginIndex"/>, or where the first timestep is, and counts up); a timestep that is not
/// the expected one moves it there, one not in the schedule is an error.</para>
/// <para><see cref="INoiseScheduler.AddNoise"/> is diffusers' σ-space x0 + σ·ε at inference timesteps;
/// <see cref="INoiseScheduler.GetVelocity"/> is the VP velocity at training timesteps (diffusers' version indexes ᾱ by
/// schedule position, a bug, and refuses integer timesteps). Train with DDPM/DDIM, sample with Euler.</para>
/// </remarks>
public sealed class EulerDiscreteScheduler : SigmaNoiseScheduler<EulerDiscreteSchedulerOptions>
{
    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults.</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public EulerDiscreteScheduler(EulerDiscreteSchedulerOptions? options = null)
        : base(options ??= new(), options.Violations(), SigmaSampleSpace.VarianceExploding)
    {
    }

    /// <inheritdoc/>
    public override void SetTimesteps(int numInferenceSteps)
    {
        double[] timesteps = SigmaTimesteps.SpacedTimesteps(Options, numInferenceSteps);
        float[] trainingSigmas = Schedule.Sigmas();
        double[] sigmas = Options.InterpolationType == InterpolationType.LogLinear
            ? LogLinearSigmas(trainingSigmas, numInferenceSteps)
            : SigmaTimesteps.Interpolate(timesteps, trainingSigmas);

        if (Options.UseKarrasSigmas)
        {
            sigmas = SigmaSchedules.Karras(Options.SigmaMin ?? sigmas[^1], Options.SigmaMax ?? sigmas[0], numInferenceSteps);
            timesteps = SigmaSchedules.PlaceTimesteps(sigmas, trainingSigmas);
        }

        Steps.Set(timesteps, sigmas, SigmaTimesteps.FinalSigma(Options.FinalSigmasType, trainingSigmas), numInferenceSteps);
    }

    /// <inheritdoc/>
    /// <remarks>Deterministic: <paramref name="generator"/> and <paramref name="varianceNoise"/> are not used.</remarks>
    public override SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int index = Steps.StepIndex(modelOutput, timestep, sample, generator, varianceNoise, nameof(EulerDiscreteScheduler));

        // 1. σ_i and σ̂ = σ_i·(γ + 1) with γ = 0 (no churn).
        float sigmaHat = Steps.Sigmas[index] * (0f + 1);

        // 2. Denoised estimate D(x; σ̂) = x0, d = (x − D) / σ̂ (Algorithm 2, line 7) and x_{i+1} = x + (σ_{i+1} − σ̂)·d (line 8).
        SchedulerOutput output = SigmaSpace.EulerStep(Options.PredictionType, modelOutput, sample, sigmaHat, Steps.Sigmas[index + 1]);
        Steps.Advance();
        return output;
    }

    /// <inheritdoc/>
    /// <remarks>The VP velocity √ᾱ_t·ε − √(1 − ᾱ_t)·x0 at whole training timesteps, given as int64 or as whole float32 values (not diffusers' schedule-index bug).</remarks>
    public override Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps) => Schedule.GetVelocityAtWholeTimesteps(sample, noise, timesteps);

    /// <summary>σ evenly spaced in log σ from the largest to the smallest training σ, N + 1 values (diffusers' log_linear, float32 torch).</summary>
    private static double[] LogLinearSigmas(float[] trainingSigmas, int n)
    {
        using var scope = NewDisposeScope();
        using Tensor logs = linspace(MathF.Log(trainingSigmas[^1]), MathF.Log(trainingSigmas[0]), n + 1, dtype: ScalarType.Float32).exp();
        return logs.data<float>().ToArray().Select(s => (double)s).ToArray();
    }
}
