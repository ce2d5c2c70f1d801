using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Denoising diffusion probabilistic models (Ho et al. 2020, https://arxiv.org/abs/2006.11239): ancestral sampling from
/// the posterior q(x_{t−1} | x_t, x0). Numerically diffusers' <c>DDPMScheduler</c>.
/// </summary>
/// <remarks>
/// Tensors returned by the methods are new and owned by the caller; <see cref="INoiseScheduler.Timesteps"/> and
/// <see cref="INoiseScheduler.AlphasCumprod"/> are owned by the scheduler (dispose the scheduler to free them). Unlike
/// diffusers, <see cref="Step"/> needs <see cref="SetTimesteps"/> first (diffusers falls back to t − 1); call
/// <c>SetTimesteps(NumTrainTimesteps)</c> for the full chain.
/// </remarks>
public sealed class DdpmScheduler : NoiseScheduler<DdpmSchedulerOptions>
{
    private readonly DiscreteTimesteps _timesteps;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults.</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public DdpmScheduler(DdpmSchedulerOptions? options = null)
        : base(options ??= new(), options.Violations(), zeroSnrFloor: false)
    {
        _timesteps = new DiscreteTimesteps(Schedule);
    }

    private protected override IInferenceTimesteps Inference => _timesteps;

    /// <inheritdoc/>
    public override void SetTimesteps(int numInferenceSteps) => _timesteps.Set(Options, numInferenceSteps);

    /// <inheritdoc/>
    /// <remarks>
    /// With <see cref="VarianceType.Learned"/> or <see cref="VarianceType.LearnedRange"/> the model output has
    /// twice the sample's channels: the prediction, then the variance. Noise is drawn only when t &gt; 0.
    /// </remarks>
    public override SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        bool learned = Options.VarianceType is VarianceType.Learned or VarianceType.LearnedRange;
        int t = _timesteps.StepTimestep(modelOutput, timestep, sample, generator, varianceNoise, nameof(DdpmScheduler), out int index, (m, s) => CheckModelOutput(m, s, learned));
        long prevT = _timesteps.Next(index);

        using var scope = NewDisposeScope();

        // 1. Split off the learned variance: [N, 2C, ...] → prediction, v.
        Tensor? predictedVariance = null;
        if (learned)
        {
            Tensor[] halves = modelOutput.split(sample.shape[1], 1);
            (modelOutput, predictedVariance) = (halves[0], halves[1]);
        }

        // 2. ᾱ_t, ᾱ_{t−1} (1 past the last step) and the effective α_t, β_t between the two inference timesteps.
        float alphaProdT = Schedule.AlphasCumprod[t];
        float alphaProdTPrev = Schedule.AlphaCumprodAt(prevT, 1.0f);
        float betaProdT = 1 - alphaProdT;
        float betaProdTPrev = 1 - alphaProdTPrev;
        float currentAlphaT = alphaProdT / alphaProdTPrev;
        float currentBetaT = 1 - currentAlphaT;

        // 3. Predicted x0, eq. (15): x0 = (x_t − √(1 − ᾱ_t)·ε) / √ᾱ_t.
        Tensor predOriginalSample = Options.PredictionType switch
        {
            PredictionType.Epsilon => (sample - (modelOutput * MathF.Sqrt(betaProdT))) / MathF.Sqrt(alphaProdT),
            PredictionType.Sample => modelOutput.alias(),
            PredictionType.VPrediction => (sample * MathF.Sqrt(alphaProdT)) - (modelOutput * MathF.Sqrt(betaProdT)),
            _ => throw new InvalidOperationException($"Unknown prediction type {Options.PredictionType}."),
        };

        // 4. Clip or threshold x0.
        predOriginalSample = DynamicThresholding.ClipOrThreshold(predOriginalSample, Options.ClipSample, Options.ClipSampleRange, Options.Thresholding, Options.DynamicThresholdingRatio, Options.SampleMaxValue);

        // 5. Posterior mean μ̃_t(x_t, x0), eq. (7): √ᾱ_{t−1}·β_t / (1 − ᾱ_t)·x0 + √α_t·(1 − ᾱ_{t−1}) / (1 − ᾱ_t)·x_t.
        float predOriginalSampleCoeff = MathF.Sqrt(alphaProdTPrev) * currentBetaT / betaProdT;
        float currentSampleCoeff = MathF.Sqrt(currentAlphaT) * betaProdTPrev / betaProdT;
        Tensor prevSample = (predOriginalSample * predOriginalSampleCoeff) + (sample * currentSampleCoeff);

        // 6. Add σ_t·z, z ~ N(0, I), except at t = 0.
        if (t > 0)
        {
            Tensor noise = SchedulerGuard.Noise(modelOutput.shape, modelOutput.dtype, modelOutput.device, generator, varianceNoise);
            prevSample = prevSample + NoiseTerm(t, prevT, noise, predictedVariance);
        }

        return new SchedulerOutput(prevSample.MoveToOuterDisposeScope(), predOriginalSample.MoveToOuterDisposeScope());
    }

    /// <summary>The noise term σ_t·z for each variance type (diffusers' _get_variance).</summary>
    private Tensor NoiseTerm(int t, long prevT, Tensor noise, Tensor? predictedVariance)
    {
        float alphaProdT = Schedule.AlphasCumprod[t];
        float alphaProdTPrev = Schedule.AlphaCumprodAt(prevT, 1.0f);
        float currentBetaT = 1 - (alphaProdT / alphaProdTPrev);

        // β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t)·β_t, eq. (7), kept above 1e-20 for the log.
        float variance = Math.Max((1 - alphaProdTPrev) / (1 - alphaProdT) * currentBetaT, 1e-20f);
        switch (Options.VarianceType)
        {
            case VarianceType.FixedSmall:
                return noise * MathF.Sqrt(variance);
            case VarianceType.FixedSmallLog:
                // diffusers multiplies by exp(½·log β̃_t) itself, without a further square root.
                return noise * MathF.Exp(0.5f * MathF.Log(variance));
            case VarianceType.FixedLarge:
                return noise * MathF.Sqrt(currentBetaT);
            case VarianceType.Learned:
                return predictedVariance!.sqrt() * noise;
            case VarianceType.LearnedRange:
                // Improved DDPM eq. (15): log σ² = v'·log β_t + (1 − v')·log β̃_t with v' = (v + 1) / 2.
                float minLog = MathF.Log(variance);
                float maxLog = MathF.Log(currentBetaT);
                Tensor frac = (predictedVariance! + 1) / 2;
                Tensor logVariance = (frac * maxLog) + ((1 - frac) * minLog);
                return (logVariance * 0.5).exp() * noise;
            default:
                throw new InvalidOperationException($"Unknown variance type {Options.VarianceType}.");
        }
    }

    private static void CheckModelOutput(Tensor modelOutput, Tensor sample, bool learned)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        if (!learned)
        {
            SchedulerGuard.ModelOutputShape(modelOutput, sample);
            return;
        }

        long[] expected = (long[])sample.shape.Clone();
        if (expected.Length < 2)
        {
            throw new ArgumentException($"sample must be [N, C, ...] with a learned variance; got {SchedulerGuard.Shape(sample)}.", nameof(sample));
        }

        expected[1] *= 2;
        if (!modelOutput.shape.SequenceEqual(expected))
        {
            throw new ArgumentException($"modelOutput must be {SchedulerGuard.Shape(expected)} (prediction and variance channels) with a learned variance; got {SchedulerGuard.Shape(modelOutput)}.", nameof(modelOutput));
        }
    }
}
