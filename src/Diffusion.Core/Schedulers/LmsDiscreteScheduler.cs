using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// The linear multistep method on the probability-flow ODE in σ-space (Karras et al. 2022,
/// https://arxiv.org/abs/2206.00364, the k-diffusion "LMS" sampler): each step combines the last
/// <see cref="LmsDiscreteSchedulerOptions.LmsOrder"/> derivatives d = (x − x0)/σ with weights that integrate their
/// Lagrange interpolant over [σ_i, σ_{i+1}]. Numerically diffusers' <c>LMSDiscreteScheduler</c> (order 4).
/// </summary>
/// <remarks>
/// <para>The sample lives in σ-space as with <see cref="EulerDiscreteScheduler"/>: start from noise ×
/// <see cref="INoiseScheduler.InitNoiseSigma"/> and feed the model <see cref="INoiseScheduler.ScaleModelInput"/>'s
/// output. <see cref="INoiseScheduler.Timesteps"/> are float32 (fractional for linspace spacing and Karras σ).</para>
/// <para>The scheduler keeps the last derivatives (owned by it, freed by <see cref="SetTimesteps"/> and
/// <see cref="IDisposable.Dispose"/>). As in diffusers the order of step i is min(i + 1, LmsOrder), counted from the
/// start of the schedule: after <see cref="INoiseScheduler.SetBeginIndex"/> or a jump, the first steps use the leading
/// coefficients of that order with the derivatives there are (diffusers' zip of coefficients and history).</para>
/// <para><see cref="INoiseScheduler.AddNoise"/> is x0 + σ·ε at inference timesteps (diffusers);
/// <see cref="INoiseScheduler.GetVelocity"/> (diffusers has none here) is the VP velocity at whole training
/// timesteps.</para>
/// </remarks>
public sealed class LmsDiscreteScheduler : SigmaNoiseScheduler<LmsDiscreteSchedulerOptions>
{
    private readonly List<Tensor> _derivatives = [];

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults.</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public LmsDiscreteScheduler(LmsDiscreteSchedulerOptions? options = null)
        : base(options ??= new(), options.Violations(), SigmaSampleSpace.VarianceExploding)
    {
    }

    /// <inheritdoc/>
    public override void SetTimesteps(int numInferenceSteps)
    {
        var (timesteps, sigmas) = SigmaTimesteps.Spread(Options, Schedule, numInferenceSteps, SigmaSchedules.SpreadOf(Options.UseKarrasSigmas, Options.UseExponentialSigmas));
        Steps.Set(timesteps, sigmas, 0f, numInferenceSteps);
    }

    /// <inheritdoc/>
    /// <remarks>Deterministic: <paramref name="generator"/> and <paramref name="varianceNoise"/> are not used.</remarks>
    public override SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int i = Steps.StepIndex(modelOutput, timestep, sample, generator, varianceNoise, nameof(LmsDiscreteScheduler));
        using var scope = NewDisposeScope();

        // 1. x0 from the model output at σ_i, and the ODE derivative d_i = (x − x0)/σ_i (Karras et al. 2022, eq. 3).
        float sigma = Steps.Sigmas[i];
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
        double[] coefficients = LmsCoefficients.At(Steps.Sigmas, i, order);
        Tensor? sum = null;
        for (int j = 0; j < Math.Min(order, _derivatives.Count); j++)
        {
            Tensor term = _derivatives[_derivatives.Count - 1 - j] * coefficients[j];
            sum = sum is null ? term : sum + term;
        }

        Tensor prevSample = sample + sum!;
        Steps.Advance();
        return new SchedulerOutput(prevSample.MoveToOuterDisposeScope(), predOriginalSample.MoveToOuterDisposeScope());
    }

    private protected override void ClearState()
    {
        foreach (Tensor d in _derivatives)
        {
            d.Dispose();
        }

        _derivatives.Clear();
    }
}
