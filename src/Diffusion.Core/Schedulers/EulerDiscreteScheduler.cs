using Diffusion.Schedulers.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Schedulers;

/// <summary>
/// Euler's method on the probability-flow ODE in σ-space (Karras et al. 2022, Algorithm 2 without churn,
/// https://arxiv.org/abs/2206.00364). Numerically diffusers' <c>EulerDiscreteScheduler</c> (s_churn = 0).
/// </summary>
/// <remarks>
/// <para>The sample lives in σ-space: start from noise × <see cref="InitNoiseSigma"/>, and feed the model
/// <see cref="ScaleModelInput"/>'s output (x / √(σ² + 1)). <see cref="Timesteps"/> are float32 and may be
/// fractional (linspace spacing); pass its elements back. Integer tensors are accepted and compared by value.</para>
/// <para>The scheduler tracks its step like diffusers (it starts where the first timestep is and counts up); a
/// timestep that is not the expected one moves it there, one not in the schedule is an error.</para>
/// <para><see cref="AddNoise"/> is diffusers' σ-space x0 + σ·ε at inference timesteps; <see cref="GetVelocity"/>
/// is the VP velocity at training timesteps (diffusers' version indexes ᾱ by schedule position, a bug, and
/// refuses integer timesteps). Train with DDPM/DDIM, sample with Euler.</para>
/// </remarks>
public sealed class EulerDiscreteScheduler : INoiseScheduler, IDisposable
{
    private readonly TrainingSchedule _schedule;
    private readonly StepCursor _cursor = new();
    private float[] _timesteps;
    private float[] _sigmas;
    private Tensor _timestepsTensor;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults.</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public EulerDiscreteScheduler(EulerDiscreteSchedulerOptions? options = null)
    {
        Options = options ?? new EulerDiscreteSchedulerOptions();
        OptionsRules.ThrowIfAny(nameof(EulerDiscreteSchedulerOptions), Options.Violations(), nameof(options));
        _schedule = new TrainingSchedule(Options, zeroSnrFloor: true);

        // Before SetTimesteps: every training timestep, T − 1 down to 0, and σ down to 0.
        int n = Options.NumTrainTimesteps;
        _timesteps = NumpyMath.Linspace(0, n - 1, n).Reverse().Select(t => (float)t).ToArray();
        _sigmas = [.. _schedule.Sigmas().Reverse(), 0f];
        _timestepsTensor = CreateTimesteps(_timesteps);
    }

    /// <summary>The options this scheduler was built with.</summary>
    public EulerDiscreteSchedulerOptions Options { get; }

    /// <inheritdoc/>
    public int NumTrainTimesteps => Options.NumTrainTimesteps;

    /// <inheritdoc/>
    public Tensor Timesteps => _timestepsTensor;

    /// <inheritdoc/>
    public Tensor AlphasCumprod => _schedule.AlphasCumprodTensor;

    /// <summary>σ of each inference timestep plus the final one, float32 (a copy).</summary>
    public IReadOnlyList<float> Sigmas => _sigmas.ToArray();

    /// <inheritdoc/>
    /// <remarks>The largest σ, or √(σmax² + 1) for leading spacing (diffusers).</remarks>
    public double InitNoiseSigma
    {
        get
        {
            float max = _sigmas.Max();
            return Options.TimestepSpacing == TimestepSpacing.Leading ? MathF.Sqrt((max * max) + 1) : max;
        }
    }

    /// <inheritdoc/>
    public PredictionType PredictionType => Options.PredictionType;

    /// <inheritdoc/>
    public int Order => 1;

    /// <summary>The number of inference steps last set, or null before <see cref="SetTimesteps"/>.</summary>
    public int? NumInferenceSteps { get; private set; }

    /// <inheritdoc/>
    public void SetTimesteps(int numInferenceSteps)
    {
        int numTrain = Options.NumTrainTimesteps;
        SchedulerGuard.NumInferenceSteps(numInferenceSteps, numTrain);
        double[] timesteps = TimestepSchedules.Spaced(Options.TimestepSpacing, numTrain, numInferenceSteps, Options.StepsOffset, roundLinspace: false);
        if (timesteps.Max() > numTrain - 1)
        {
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), $"StepsOffset (steps_offset) {Options.StepsOffset} with {numInferenceSteps} {Options.TimestepSpacing} steps gives timestep {timesteps.Max()}, beyond the last training timestep ({numTrain - 1}).");
        }

        float[] trainingSigmas = _schedule.Sigmas();
        double[] sigmas = Options.InterpolationType == InterpolationType.LogLinear
            ? LogLinearSigmas(trainingSigmas, numInferenceSteps)
            : timesteps.Select(t => NumpyMath.Interp(t, trainingSigmas)).ToArray();

        if (Options.UseKarrasSigmas)
        {
            sigmas = SigmaSchedules.Karras(Options.SigmaMin ?? sigmas[^1], Options.SigmaMax ?? sigmas[0], numInferenceSteps);
            float[] logSigmas = SigmaSchedules.Log(trainingSigmas);
            timesteps = sigmas.Select(s => SigmaSchedules.SigmaToT(s, logSigmas)).ToArray();
        }

        float last = Options.FinalSigmasType == FinalSigmasType.SigmaMin ? trainingSigmas[0] : 0f;
        _sigmas = [.. sigmas.Select(s => (float)s), last];
        _timesteps = timesteps.Select(t => (float)t).ToArray();
        _timestepsTensor.Dispose();
        _timestepsTensor = CreateTimesteps(_timesteps);
        _cursor.Reset();
        NumInferenceSteps = numInferenceSteps;
    }

    /// <inheritdoc/>
    /// <remarks>x / √(σ² + 1): the model sees unit-variance input.</remarks>
    public Tensor ScaleModelInput(Tensor sample, Tensor timestep)
    {
        ArgumentNullException.ThrowIfNull(sample);
        int index = _cursor.Locate(SchedulerGuard.ReadTimestep(timestep), _timesteps, out _);
        float sigma = _sigmas[index];
        return sample / MathF.Sqrt((sigma * sigma) + 1);
    }

    /// <inheritdoc/>
    /// <remarks>Deterministic: <paramref name="generator"/> and <paramref name="varianceNoise"/> are not used.</remarks>
    public SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        if (NumInferenceSteps is null)
        {
            throw SchedulerGuard.StepBeforeSetTimesteps(nameof(EulerDiscreteScheduler));
        }

        SchedulerGuard.SameShape(sample, nameof(sample), modelOutput, nameof(modelOutput));
        SchedulerGuard.NotBoth(generator, varianceNoise);
        int index = _cursor.Locate(SchedulerGuard.ReadTimestep(timestep), _timesteps, out _);

        using var scope = NewDisposeScope();
        Tensor x = sample.to_type(ScalarType.Float32);

        // 1. σ_i and σ̂ = σ_i·(γ + 1) with γ = 0 (no churn).
        float sigma = _sigmas[index];
        float sigmaHat = sigma * (0f + 1);

        // 2. Denoised estimate D(x; σ̂) = x0.
        Tensor predOriginalSample = Options.PredictionType switch
        {
            PredictionType.Epsilon => x - (modelOutput * sigmaHat),
            PredictionType.Sample => modelOutput.alias(),
            PredictionType.VPrediction => (modelOutput * (-sigma / MathF.Sqrt((sigma * sigma) + 1))) + (x / ((sigma * sigma) + 1)),
            _ => throw new InvalidOperationException($"Unknown prediction type {Options.PredictionType}."),
        };

        // 3. d = (x − D) / σ̂ (Algorithm 2, line 7) and x_{i+1} = x + (σ_{i+1} − σ̂)·d (line 8).
        Tensor derivative = (x - predOriginalSample) / sigmaHat;
        float dt = _sigmas[index + 1] - sigmaHat;
        Tensor prevSample = (x + (derivative * dt)).to_type(modelOutput.dtype);

        _cursor.Advance();
        return new SchedulerOutput(prevSample.MoveToOuterDisposeScope(), predOriginalSample.MoveToOuterDisposeScope());
    }

    /// <inheritdoc/>
    /// <remarks>x0 + σ·ε with σ of each timestep's place in <see cref="Timesteps"/> (diffusers); every timestep must be in it.</remarks>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps)
    {
        SchedulerGuard.SameShape(originalSamples, nameof(originalSamples), noise, nameof(noise));
        SchedulerGuard.CheckBatch(timesteps, originalSamples, nameof(timesteps));
        using var scope = NewDisposeScope();
        float[] sigma = StepCursor.ScheduleIndices(timesteps, _timesteps).Select(i => _sigmas[i]).ToArray();
        Tensor sigmaT = tensor(sigma, dtype: ScalarType.Float32).to(originalSamples.dtype, originalSamples.device)
            .reshape(TrainingSchedule.BroadcastShape(sigma.Length, originalSamples.dim()));
        return (originalSamples + (noise * sigmaT)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    /// <remarks>The VP velocity √ᾱ_t·ε − √(1 − ᾱ_t)·x0 at whole training timesteps (not diffusers' schedule-index bug).</remarks>
    public Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps)
    {
        SchedulerGuard.SameShape(sample, nameof(sample), noise, nameof(noise));
        ArgumentNullException.ThrowIfNull(timesteps);
        if (!is_floating_point(timesteps))
        {
            return _schedule.GetVelocity(sample, noise, timesteps);
        }

        using var scope = NewDisposeScope();
        Tensor whole = timesteps.round();
        if (!whole.eq(timesteps).all().item<bool>())
        {
            throw new ArgumentException("timesteps must be whole training timesteps for GetVelocity; got fractional values.", nameof(timesteps));
        }

        return _schedule.GetVelocity(sample, noise, whole.to_type(ScalarType.Int64)).MoveToOuterDisposeScope();
    }

    /// <summary>Frees the scheduler's tensors.</summary>
    public void Dispose()
    {
        _schedule.Dispose();
        _timestepsTensor.Dispose();
    }

    /// <summary>σ evenly spaced in log σ from the largest to the smallest training σ, N + 1 values (diffusers' log_linear, float32 torch).</summary>
    private static double[] LogLinearSigmas(float[] trainingSigmas, int n)
    {
        using var scope = NewDisposeScope();
        using Tensor logs = linspace(MathF.Log(trainingSigmas[^1]), MathF.Log(trainingSigmas[0]), n + 1, dtype: ScalarType.Float32).exp();
        return logs.data<float>().ToArray().Select(s => (double)s).ToArray();
    }
    private static Tensor CreateTimesteps(float[] values) => tensor(values, dtype: ScalarType.Float32).DetachFromDisposeScope();
}
