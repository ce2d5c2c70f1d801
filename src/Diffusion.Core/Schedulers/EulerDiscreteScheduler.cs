using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Euler's method on the probability-flow ODE in σ-space (Karras et al. 2022, Algorithm 2 without churn,
/// https://arxiv.org/abs/2206.00364). Numerically diffusers' <c>EulerDiscreteScheduler</c> (s_churn = 0).
/// </summary>
/// <remarks>
/// <para>The sample lives in σ-space: start from noise × <see cref="InitNoiseSigma"/>, and feed the model
/// <see cref="ScaleModelInput"/>'s output (x / √(σ² + 1)). <see cref="Timesteps"/> are float32 and may be
/// fractional (linspace spacing); pass its elements back. Integer tensors are accepted and compared by value.</para>
/// <para>The scheduler tracks its step like diffusers (it starts at the begin index, <see cref="SetBeginIndex"/>, or where the first timestep is, and counts up); a
/// timestep that is not the expected one moves it there, one not in the schedule is an error.</para>
/// <para><see cref="AddNoise"/> is diffusers' σ-space x0 + σ·ε at inference timesteps; <see cref="GetVelocity"/>
/// is the VP velocity at training timesteps (diffusers' version indexes ᾱ by schedule position, a bug, and
/// refuses integer timesteps). Train with DDPM/DDIM, sample with Euler.</para>
/// </remarks>
public sealed class EulerDiscreteScheduler : INoiseScheduler, IDisposable
{
    private readonly TrainingSchedule _schedule;
    private readonly SigmaTimesteps _steps;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults.</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public EulerDiscreteScheduler(EulerDiscreteSchedulerOptions? options = null)
    {
        Options = options ?? new EulerDiscreteSchedulerOptions();
        _schedule = TrainingSchedule.Validated(Options, Options.Violations(), zeroSnrFloor: true);
        _steps = new SigmaTimesteps(_schedule);
    }

    /// <summary>The options this scheduler was built with.</summary>
    public EulerDiscreteSchedulerOptions Options { get; }

    /// <inheritdoc/>
    public int NumTrainTimesteps => Options.NumTrainTimesteps;

    /// <inheritdoc/>
    public Tensor Timesteps => _steps.Tensor;

    /// <inheritdoc/>
    public Tensor AlphasCumprod => _schedule.AlphasCumprodTensor;

    /// <summary>σ of each inference timestep plus the final one, float32 (a copy).</summary>
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
        float[] trainingSigmas = _schedule.Sigmas();
        double[] sigmas = Options.InterpolationType == InterpolationType.LogLinear
            ? LogLinearSigmas(trainingSigmas, numInferenceSteps)
            : SigmaTimesteps.Interpolate(timesteps, trainingSigmas);

        if (Options.UseKarrasSigmas)
        {
            sigmas = SigmaSchedules.Karras(Options.SigmaMin ?? sigmas[^1], Options.SigmaMax ?? sigmas[0], numInferenceSteps);
            timesteps = SigmaSchedules.PlaceTimesteps(sigmas, trainingSigmas);
        }

        _steps.Set(timesteps, sigmas, SigmaTimesteps.FinalSigma(Options.FinalSigmasType, trainingSigmas), numInferenceSteps);
    }

    /// <inheritdoc/>
    /// <remarks>The first <see cref="Step"/> after it is taken at <paramref name="beginIndex"/> (where its timestep is that element of <see cref="Timesteps"/>).</remarks>
    public void SetBeginIndex(int beginIndex) => _steps.SetBeginIndex(beginIndex, nameof(EulerDiscreteScheduler));

    /// <inheritdoc/>
    /// <remarks>x / √(σ² + 1): the model sees unit-variance input.</remarks>
    public Tensor ScaleModelInput(Tensor sample, Tensor timestep) => _steps.ScaleModelInput(sample, timestep);

    /// <inheritdoc/>
    /// <remarks>Deterministic: <paramref name="generator"/> and <paramref name="varianceNoise"/> are not used.</remarks>
    public SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int index = _steps.StepIndex(modelOutput, timestep, sample, generator, varianceNoise, nameof(EulerDiscreteScheduler));
        float[] sigmas = _steps.Sigmas;

        using var scope = NewDisposeScope();
        Tensor x = sample.to_type(ScalarType.Float32);

        // 1. σ_i and σ̂ = σ_i·(γ + 1) with γ = 0 (no churn).
        float sigma = sigmas[index];
        float sigmaHat = sigma * (0f + 1);

        // 2. Denoised estimate D(x; σ̂) = x0.
        Tensor predOriginalSample = SigmaSpace.PredictOriginal(Options.PredictionType, modelOutput, x, sigmaHat);

        // 3. d = (x − D) / σ̂ (Algorithm 2, line 7) and x_{i+1} = x + (σ_{i+1} − σ̂)·d (line 8).
        Tensor derivative = (x - predOriginalSample) / sigmaHat;
        float dt = sigmas[index + 1] - sigmaHat;
        Tensor prevSample = (x + (derivative * dt)).to_type(modelOutput.dtype);

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
    /// <remarks>The VP velocity √ᾱ_t·ε − √(1 − ᾱ_t)·x0 at whole training timesteps (not diffusers' schedule-index bug).</remarks>
    public Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps) => _schedule.GetVelocityAtWholeTimesteps(sample, noise, timesteps);

    /// <summary>Frees the scheduler's tensors.</summary>
    public void Dispose()
    {
        _schedule.Dispose();
        _steps.Dispose();
    }

    /// <summary>σ evenly spaced in log σ from the largest to the smallest training σ, N + 1 values (diffusers' log_linear, float32 torch).</summary>
    private static double[] LogLinearSigmas(float[] trainingSigmas, int n)
    {
        using var scope = NewDisposeScope();
        using Tensor logs = linspace(MathF.Log(trainingSigmas[^1]), MathF.Log(trainingSigmas[0]), n + 1, dtype: ScalarType.Float32).exp();
        return logs.data<float>().ToArray().Select(s => (double)s).ToArray();
    }
}
