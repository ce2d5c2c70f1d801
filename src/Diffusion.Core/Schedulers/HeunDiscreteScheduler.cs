using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Heun's second-order method on the probability-flow ODE in σ-space (Karras et al. 2022, Algorithm 1,
/// https://arxiv.org/abs/2206.00364): an Euler step to σ_{i+1}, then a correction with the average of the slopes at
/// both ends. Two model evaluations per step (<see cref="Order"/> 2). Numerically diffusers'
/// <c>HeunDiscreteScheduler</c>.
/// </summary>
/// <remarks>
/// <para><see cref="INoiseScheduler.Timesteps"/> hold every model call: t_0, then t_1, t_1, t_2, t_2, …, t_{N−1},
/// t_{N−1} (2N − 1 values, float32), and <see cref="SigmaNoiseScheduler{TOptions}.Sigmas"/> the σ of each position
/// (σ_0, σ_1, σ_1, …, σ_{N−1}, σ_{N−1}, 0). Call <see cref="INoiseScheduler.ScaleModelInput"/> (with σ of that
/// position: σ_{k+1} for a correction), the model and <see cref="Step"/> once for each, in order: even positions are
/// Euler steps from σ_k to σ_{k+1} (the sample returned is the Euler estimate the next model call needs), odd positions
/// the corrections that return x at σ_{k+1}; the last position is a plain Euler step to σ = 0 (Algorithm 1, line 8).
/// The scheduler keeps the first half's slope and sample (owned by it, freed by <see cref="SetTimesteps"/> and
/// <see cref="IDisposable.Dispose"/>). Start from noise × <see cref="INoiseScheduler.InitNoiseSigma"/>. For
/// image-to-image, <see cref="INoiseScheduler.SetBeginIndex"/> takes t_start × <see cref="Order"/>: an even position,
/// the Euler half of step t_start (a half-finished step is dropped).</para>
/// <para><see cref="INoiseScheduler.AddNoise"/> is x0 + σ·ε at inference timesteps (diffusers);
/// <see cref="INoiseScheduler.GetVelocity"/> (diffusers has none here) is the VP velocity at whole training
/// timesteps.</para>
/// </remarks>
public sealed class HeunDiscreteScheduler : SigmaNoiseScheduler<HeunDiscreteSchedulerOptions>
{
    // The first half of a step (diffusers' prev_derivative, dt, sample); null while the next call is an Euler step.
    private Tensor? _firstDerivative;
    private Tensor? _firstSample;
    private float? _dt;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults.</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public HeunDiscreteScheduler(HeunDiscreteSchedulerOptions? options = null)
        : base(options ??= new(), options.Violations(), SigmaSampleSpace.VarianceExploding)
    {
    }

    /// <inheritdoc/>
    /// <remarks>2: two model evaluations per Heun step (diffusers' <c>order</c>).</remarks>
    public override int Order => 2;

    /// <inheritdoc/>
    public override void SetTimesteps(int numInferenceSteps)
    {
        // Every entry after the first doubled (diffusers' repeat_interleave): timesteps t_0, t_1, t_1, …, t_{N−1}, t_{N−1}
        // and σ_0, σ_1, σ_1, …, σ_{N−1}, σ_{N−1}, then the final 0.
        static double[] Doubled(double[] values) => [values[0], .. values.Skip(1).SelectMany(v => new[] { v, v })];
        var (timesteps, sigmas) = SigmaTimesteps.Spread(Options, Schedule, numInferenceSteps, SigmaSchedules.SpreadOf(Options.UseKarrasSigmas, Options.UseExponentialSigmas));
        Steps.Set(Doubled(timesteps), Doubled(sigmas), 0f, numInferenceSteps);
    }

    /// <inheritdoc/>
    /// <remarks>Deterministic: <paramref name="generator"/> and <paramref name="varianceNoise"/> are not used.</remarks>
    public override SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int i = Steps.StepIndex(modelOutput, timestep, sample, generator, varianceNoise, nameof(HeunDiscreteScheduler));
        using var scope = NewDisposeScope();
        bool firstOrder = _dt is null;

        // 1. σ_k and σ_{k+1} of this step; σ̂ = σ_k·(γ + 1) with γ = 0 (no churn). The Euler half evaluates the model at
        //    σ̂, the correction at σ_{k+1} (Algorithm 1, lines 5 and 7).
        float[] sigmas = Steps.Sigmas;
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

        Steps.Advance();
        return new SchedulerOutput(prevSample.MoveToOuterDisposeScope(), predOriginalSample.MoveToOuterDisposeScope());
    }

    private protected override void ClearState()
    {
        _firstDerivative?.Dispose();
        _firstSample?.Dispose();
        _firstDerivative = null;
        _firstSample = null;
        _dt = null;
    }
}
