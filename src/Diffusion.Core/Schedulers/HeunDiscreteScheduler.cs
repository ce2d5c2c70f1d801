using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Heun's second-order method on the probability-flow ODE in σ-space (Karras et al. 2022, Algorithm 1,
/// https://arxiv.org/abs/2206.00364): an Euler step to σ_{i+1}, then a correction with the average of the slopes at both
/// ends. Two model evaluations per step (<see cref="Order"/> 2). Numerically diffusers' <c>HeunDiscreteScheduler</c>.
/// </summary>
/// <remarks>
/// <para><see cref="Timesteps"/> hold every model call: t_0, then t_1, t_1, t_2, t_2, …, t_{N−1}, t_{N−1} (2N − 1 values,
/// float32). Call <see cref="ScaleModelInput"/>, the model and <see cref="Step"/> once for each, in order: even positions
/// are Euler steps from σ_k to σ_{k+1} (the sample returned is the Euler estimate the next model call needs), odd positions
/// the corrections that return x at σ_{k+1}; the last position is a plain Euler step to σ = 0 (Algorithm 1, line 8).
/// The scheduler keeps the first half's slope and sample (owned by it, freed by <see cref="SetTimesteps"/> and
/// <see cref="Dispose"/>). Start from noise × <see cref="InitNoiseSigma"/>.</para>
/// <para><see cref="AddNoise"/> is x0 + σ·ε at inference timesteps (diffusers); <see cref="GetVelocity"/> (diffusers has
/// none here) is the VP velocity at whole training timesteps.</para>
/// </remarks>
public sealed class HeunDiscreteScheduler : INoiseScheduler, IDisposable
{
    private readonly TrainingSchedule _schedule;
    private readonly SigmaTimesteps _inference;

    // The first half of a step (diffusers' prev_derivative, dt, sample); null while the next call is an Euler step.
    private Tensor? _firstDerivative;
    private Tensor? _firstSample;
    private float? _dt;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults.</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public HeunDiscreteScheduler(HeunDiscreteSchedulerOptions? options = null)
    {
        Options = options ?? new HeunDiscreteSchedulerOptions();
        _schedule = TrainingSchedule.Validated(Options, Options.Violations(), zeroSnrFloor: false);
        // Before SetTimesteps: every training timestep, T − 1 down to 0, with its σ. A half-finished step is dropped
        // when the loop restarts.
        _inference = new SigmaTimesteps(_schedule, restarted: ClearState);
    }

    /// <summary>The options this scheduler was built with.</summary>
    public HeunDiscreteSchedulerOptions Options { get; }

    /// <inheritdoc/>
    public int NumTrainTimesteps => Options.NumTrainTimesteps;

    /// <inheritdoc/>
    /// <remarks>2N − 1 values for N steps: every timestep after the first appears twice.</remarks>
    public Tensor Timesteps => _inference.Tensor;

    /// <inheritdoc/>
    public Tensor AlphasCumprod => _schedule.AlphasCumprodTensor;

    /// <summary>σ of each position of <see cref="Timesteps"/> plus the final 0 (σ_0, σ_1, σ_1, …, σ_{N−1}, σ_{N−1}, 0), float32 (a copy).</summary>
    public IReadOnlyList<float> Sigmas => _inference.Sigmas.ToArray();

    /// <inheritdoc/>
    /// <remarks>The largest σ, or √(σmax² + 1) for leading spacing (diffusers).</remarks>
    public double InitNoiseSigma => _inference.InitNoiseSigma(Options.TimestepSpacing);

    /// <inheritdoc/>
    public PredictionType PredictionType => Options.PredictionType;

    /// <inheritdoc/>
    /// <remarks>2: two model evaluations per Heun step (diffusers' <c>order</c>).</remarks>
    public int Order => 2;

    /// <summary>The number of inference steps last set (N; <see cref="Timesteps"/> has 2N − 1), or null before <see cref="SetTimesteps"/>.</summary>
    public int? NumInferenceSteps => _inference.NumInferenceSteps;

    /// <inheritdoc/>
    public void SetTimesteps(int numInferenceSteps)
    {
        // Every entry after the first doubled (diffusers' repeat_interleave): timesteps t_0, t_1, t_1, …, t_{N−1}, t_{N−1}
        // and σ_0, σ_1, σ_1, …, σ_{N−1}, σ_{N−1}, then the final 0.
        static double[] Doubled(double[] values) => [values[0], .. values.Skip(1).SelectMany(v => new[] { v, v })];
        var (timesteps, sigmas) = SigmaTimesteps.Spread(Options, _schedule, numInferenceSteps, SigmaSchedules.SpreadOf(Options.UseKarrasSigmas, Options.UseExponentialSigmas));
        _inference.Set(Doubled(timesteps), Doubled(sigmas), 0f, numInferenceSteps);
    }

    /// <inheritdoc/>
    /// <remarks>For image-to-image pass t_start × <see cref="Order"/>: an even position, the Euler half of step t_start. A half-finished step is dropped.</remarks>
    public void SetBeginIndex(int beginIndex) => _inference.SetBeginIndex(beginIndex, nameof(HeunDiscreteScheduler));

    /// <inheritdoc/>
    /// <remarks>x / √(σ² + 1) with σ of this position (σ_{k+1} for a correction call).</remarks>
    public Tensor ScaleModelInput(Tensor sample, Tensor timestep) => _inference.ScaleModelInput(sample, timestep);

    /// <inheritdoc/>
    /// <remarks>Deterministic: <paramref name="generator"/> and <paramref name="varianceNoise"/> are not used.</remarks>
    public SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int i = _inference.StepIndex(modelOutput, timestep, sample, generator, varianceNoise, nameof(HeunDiscreteScheduler));
        using var scope = NewDisposeScope();
        bool firstOrder = _dt is null;

        // 1. σ_k and σ_{k+1} of this step; σ̂ = σ_k·(γ + 1) with γ = 0 (no churn). The Euler half evaluates the model at
        //    σ̂, the correction at σ_{k+1} (Algorithm 1, lines 5 and 7).
        float[] sigmas = _inference.Sigmas;
        float sigma = firstOrder ? sigmas[i] : sigmas[i - 1];
        float sigmaNext = firstOrder ? sigmas[i + 1] : sigmas[i];
        float sigmaHat = sigma * (0f + 1);
        float sigmaInput = firstOrder ? sigmaHat : sigmaNext;

        // 2. D(x; σ) = x0, clipped if asked.
        Tensor predOriginalSample = DynamicThresholding.ClipOrThreshold(
            SigmaSpace.PredictOriginal(Options.PredictionType, modelOutput, sample, sigmaInput), Options.ClipSample, Options.ClipSampleRange, thresholding: false, 0, 0);

        Tensor prevSample;
        if (firstOrder)
        {
            // 3a. Euler: d_k = (x − D)/σ̂, x' = x + (σ_{k+1} − σ̂)·d_k (lines 5–6); keep d_k, dt and x for the correction.
            Tensor derivative = (sample - predOriginalSample) / sigmaHat;
            float dt = sigmaNext - sigmaHat;
            prevSample = sample + (derivative * dt);
            _firstDerivative = derivative.alias().DetachFromDisposeScope();
            _firstSample = sample.alias().DetachFromDisposeScope();
            _dt = dt;
        }
        else
        {
            // 3b. Correction: d' = (x' − D)/σ_{k+1}, x_{k+1} = x_k + dt·(d_k + d')/2 (lines 7–8).
            Tensor derivative = (sample - predOriginalSample) / sigmaNext;
            derivative = (_firstDerivative! + derivative) / 2;
            prevSample = _firstSample! + (derivative * _dt!.Value);
            ClearState();
        }

        _inference.Advance();
        return new SchedulerOutput(prevSample.MoveToOuterDisposeScope(), predOriginalSample.MoveToOuterDisposeScope());
    }

    /// <inheritdoc/>
    /// <remarks>x0 + σ·ε with σ of each timestep's place in <see cref="Timesteps"/> (the second of a repeated pair, diffusers; after <see cref="SetBeginIndex"/>, the current position's σ).</remarks>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps) => _inference.AddNoise(originalSamples, noise, timesteps);

    /// <inheritdoc/>
    /// <remarks>The VP velocity √ᾱ_t·ε − √(1 − ᾱ_t)·x0 at integer training timesteps (train with DDPM/DDIM, sample with Heun).</remarks>
    public Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps) => _schedule.GetVelocity(sample, noise, timesteps);

    /// <summary>Frees the scheduler's tensors, including a half-finished step's state.</summary>
    public void Dispose()
    {
        ClearState();
        _schedule.Dispose();
        _inference.Dispose();
    }

    private void ClearState()
    {
        _firstDerivative?.Dispose();
        _firstSample?.Dispose();
        _firstDerivative = null;
        _firstSample = null;
        _dt = null;
    }
}
