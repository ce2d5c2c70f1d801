using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// The linear multistep method on the probability-flow ODE in σ-space (Karras et al. 2022, https://arxiv.org/abs/2206.00364,
/// the k-diffusion "LMS" sampler): each step combines the last <see cref="LmsDiscreteSchedulerOptions.LmsOrder"/> derivatives
/// d = (x − x0)/σ with weights that integrate their Lagrange interpolant over [σ_i, σ_{i+1}]. Numerically diffusers'
/// <c>LMSDiscreteScheduler</c> (order 4).
/// </summary>
/// <remarks>
/// <para>The sample lives in σ-space as with <see cref="EulerDiscreteScheduler"/>: start from noise × <see cref="InitNoiseSigma"/>
/// and feed the model <see cref="ScaleModelInput"/>'s output. <see cref="Timesteps"/> are float32 (fractional for linspace
/// spacing and Karras σ).</para>
/// <para>The scheduler keeps the last derivatives (owned by it, freed by <see cref="SetTimesteps"/> and <see cref="Dispose"/>).
/// As in diffusers the order of step i is min(i + 1, LmsOrder), counted from the start of the schedule: after
/// <see cref="SetBeginIndex"/> or a jump, the first steps use the leading coefficients of that order with the derivatives
/// there are (diffusers' zip of coefficients and history).</para>
/// <para><see cref="AddNoise"/> is x0 + σ·ε at inference timesteps (diffusers); <see cref="GetVelocity"/> (diffusers has
/// none here) is the VP velocity at whole training timesteps.</para>
/// </remarks>
public sealed class LmsDiscreteScheduler : INoiseScheduler, IDisposable
{
    private readonly TrainingSchedule _schedule;
    private readonly SigmaTimesteps _inference;
    private readonly List<Tensor> _derivatives = [];

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults.</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public LmsDiscreteScheduler(LmsDiscreteSchedulerOptions? options = null)
    {
        Options = options ?? new LmsDiscreteSchedulerOptions();
        _schedule = TrainingSchedule.Validated(Options, Options.Violations(), zeroSnrFloor: false);
        // Before SetTimesteps: every training timestep, T − 1 down to 0, with its σ. The derivative history is dropped
        // when the loop restarts.
        _inference = new SigmaTimesteps(_schedule, restarted: ClearHistory);
    }

    /// <summary>The options this scheduler was built with.</summary>
    public LmsDiscreteSchedulerOptions Options { get; }

    /// <inheritdoc/>
    public int NumTrainTimesteps => Options.NumTrainTimesteps;

    /// <inheritdoc/>
    public Tensor Timesteps => _inference.Tensor;

    /// <inheritdoc/>
    public Tensor AlphasCumprod => _schedule.AlphasCumprodTensor;

    /// <summary>σ of each inference timestep plus the final 0, float32 (a copy).</summary>
    public IReadOnlyList<float> Sigmas => _inference.Sigmas.ToArray();

    /// <inheritdoc/>
    /// <remarks>The largest σ, or √(σmax² + 1) for leading spacing (diffusers).</remarks>
    public double InitNoiseSigma => _inference.InitNoiseSigma(Options.TimestepSpacing);

    /// <inheritdoc/>
    public PredictionType PredictionType => Options.PredictionType;

    /// <inheritdoc/>
    /// <remarks>1 model evaluation per step; the multistep order is <see cref="LmsDiscreteSchedulerOptions.LmsOrder"/>.</remarks>
    public int Order => 1;

    /// <summary>The number of inference steps last set, or null before <see cref="SetTimesteps"/>.</summary>
    public int? NumInferenceSteps => _inference.NumInferenceSteps;

    /// <inheritdoc/>
    public void SetTimesteps(int numInferenceSteps)
    {
        var (timesteps, sigmas) = SigmaTimesteps.Spread(Options, _schedule, numInferenceSteps, SigmaSchedules.SpreadOf(Options.UseKarrasSigmas, Options.UseExponentialSigmas));
        _inference.Set(timesteps, sigmas, 0f, numInferenceSteps);
    }

    /// <inheritdoc/>
    /// <remarks>The derivative history starts empty; as in diffusers the order still counts from the start of the schedule (see the class remarks).</remarks>
    public void SetBeginIndex(int beginIndex) => _inference.SetBeginIndex(beginIndex, nameof(LmsDiscreteScheduler));

    /// <inheritdoc/>
    /// <remarks>x / √(σ² + 1): the model sees unit-variance input.</remarks>
    public Tensor ScaleModelInput(Tensor sample, Tensor timestep) => _inference.ScaleModelInput(sample, timestep);

    /// <inheritdoc/>
    /// <remarks>Deterministic: <paramref name="generator"/> and <paramref name="varianceNoise"/> are not used.</remarks>
    public SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int i = _inference.StepIndex(modelOutput, timestep, sample, generator, varianceNoise, nameof(LmsDiscreteScheduler));
        using var scope = NewDisposeScope();

        // 1. x0 from the model output at σ_i, and the ODE derivative d_i = (x − x0)/σ_i (Karras et al. 2022, eq. 3).
        float sigma = _inference.Sigmas[i];
        Tensor predOriginalSample = SigmaSpace.PredictOriginal(Options.PredictionType, modelOutput, sample, sigma);
        Tensor derivative = (sample - predOriginalSample) / sigma;
        _derivatives.Add(derivative.alias().DetachFromDisposeScope());
        if (_derivatives.Count > Options.LmsOrder)
        {
            _derivatives[0].Dispose();
            _derivatives.RemoveAt(0);
        }

        // 2. x_{i+1} = x_i + Σ_j c_j·d_{i−j}, c_j = ∫ L_j over [σ_i, σ_{i+1}] (diffusers pairs the coefficients with the
        //    newest derivatives first and stops at the shorter list).
        int order = Math.Min(i + 1, Options.LmsOrder);
        double[] coefficients = LmsCoefficients.At(_inference.Sigmas, i, order);
        Tensor? sum = null;
        for (int j = 0; j < Math.Min(order, _derivatives.Count); j++)
        {
            Tensor term = _derivatives[_derivatives.Count - 1 - j] * coefficients[j];
            sum = sum is null ? term : sum + term;
        }

        Tensor prevSample = sample + sum!;
        _inference.Advance();
        return new SchedulerOutput(prevSample.MoveToOuterDisposeScope(), predOriginalSample.MoveToOuterDisposeScope());
    }

    /// <inheritdoc/>
    /// <remarks>x0 + σ·ε with σ of each timestep's place in <see cref="Timesteps"/> (diffusers; after <see cref="SetBeginIndex"/>, the current step's σ).</remarks>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps) => _inference.AddNoise(originalSamples, noise, timesteps);

    /// <inheritdoc/>
    /// <remarks>The VP velocity √ᾱ_t·ε − √(1 − ᾱ_t)·x0 at integer training timesteps (train with DDPM/DDIM, sample with LMS).</remarks>
    public Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps) => _schedule.GetVelocity(sample, noise, timesteps);

    /// <summary>Frees the scheduler's tensors, including the derivative history.</summary>
    public void Dispose()
    {
        ClearHistory();
        _schedule.Dispose();
        _inference.Dispose();
    }

    private void ClearHistory()
    {
        foreach (Tensor d in _derivatives)
        {
            d.Dispose();
        }

        _derivatives.Clear();
    }
}
