using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Denoising diffusion implicit models (Song et al. 2021, https://arxiv.org/abs/2010.02502): a non-Markovian sampler
/// with the DDPM training objective; η = 0 is deterministic. Numerically diffusers' <c>DDIMScheduler</c>, with
/// diffusers' <c>step</c> arguments <c>eta</c> and <c>use_clipped_model_output</c> moved into
/// <see cref="DdimSchedulerOptions"/>. <see cref="DdimSchedulerOptions.Book"/> is the book's sampler.
/// </summary>
/// <remarks>
/// The previous timestep is t − T / N as in diffusers, even for linspace and trailing spacing where that is not the
/// next element of <see cref="INoiseScheduler.Timesteps"/> (diffusers' behaviour; see
/// <see cref="DdimSchedulerOptions.PreviousTimestepFromSchedule"/>). Tensors returned by the methods are new and owned
/// by the caller; <see cref="INoiseScheduler.Timesteps"/> and <see cref="INoiseScheduler.AlphasCumprod"/> are owned by
/// the scheduler.
/// </remarks>
public sealed class DdimScheduler : NoiseScheduler<DdimSchedulerOptions>
{
    private readonly DiscreteTimesteps _timesteps;
    private readonly float _finalAlphaCumprod;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults (η = 0).</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public DdimScheduler(DdimSchedulerOptions? options = null)
        : base(options ??= new(), options.Violations(), zeroSnrFloor: false)
    {
        _timesteps = new DiscreteTimesteps(Schedule);

        // After the last step there is no ᾱ_{t−1}: use 1 (a clean sample) or ᾱ_0.
        _finalAlphaCumprod = Schedule.FinalAlphaCumprod(Options.SetAlphaToOne);
    }

    private protected override IInferenceTimesteps Inference => _timesteps;

    /// <inheritdoc/>
    public override void SetTimesteps(int numInferenceSteps) => _timesteps.Set(Options, numInferenceSteps);

    /// <inheritdoc/>
    /// <remarks>Noise is used only when <see cref="DdimSchedulerOptions.Eta"/> &gt; 0.</remarks>
    public override SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int t = _timesteps.StepTimestep(modelOutput, timestep, sample, generator, varianceNoise, nameof(DdimScheduler), out int index);

        // 1. The previous timestep t − T / N (diffusers), or the next one in the list.
        long prevT = Options.PreviousTimestepFromSchedule ? _timesteps.Next(index) : t - (NumTrainTimesteps / NumInferenceSteps!.Value);

        using var scope = NewDisposeScope();

        // 2. ᾱ_t, ᾱ_{t−1} and 1 − ᾱ_t.
        float alphaProdT = Schedule.AlphasCumprod[t];
        float alphaProdTPrev = Schedule.AlphaCumprodAt(prevT, _finalAlphaCumprod);
        float betaProdT = 1 - alphaProdT;

        // 3. Predicted x0 ("predicted x_0" of eq. 12) and ε.
        Tensor predOriginalSample, predEpsilon;
        switch (Options.PredictionType)
        {
            case PredictionType.Epsilon:
                predOriginalSample = (sample - (modelOutput * MathF.Sqrt(betaProdT))) / MathF.Sqrt(alphaProdT);
                predEpsilon = modelOutput;
                break;
            case PredictionType.Sample:
                predOriginalSample = modelOutput.alias();
                predEpsilon = (sample - (predOriginalSample * MathF.Sqrt(alphaProdT))) / MathF.Sqrt(betaProdT);
                break;
            case PredictionType.VPrediction:
                predOriginalSample = (sample * MathF.Sqrt(alphaProdT)) - (modelOutput * MathF.Sqrt(betaProdT));
                predEpsilon = (modelOutput * MathF.Sqrt(alphaProdT)) + (sample * MathF.Sqrt(betaProdT));
                break;
            default:
                throw new InvalidOperationException($"Unknown prediction type {Options.PredictionType}.");
        }

        // 4. Clip or threshold x0.
        predOriginalSample = DynamicThresholding.ClipOrThreshold(predOriginalSample, Options.ClipSample, Options.ClipSampleRange, Options.Thresholding, Options.DynamicThresholdingRatio, Options.SampleMaxValue);

        // 5. σ_t(η), eq. (16): η·√((1 − ᾱ_{t−1}) / (1 − ᾱ_t))·√(1 − ᾱ_t / ᾱ_{t−1}).
        float betaProdTPrev = 1 - alphaProdTPrev;
        float variance = betaProdTPrev / betaProdT * (1 - (alphaProdT / alphaProdTPrev));
        float stdDevT = (float)Options.Eta * MathF.Sqrt(variance);

        // GLIDE: re-derive ε from the clipped x0.
        if (Options.UseClippedModelOutput)
        {
            predEpsilon = (sample - (predOriginalSample * MathF.Sqrt(alphaProdT))) / MathF.Sqrt(betaProdT);
        }

        // 6. "Direction pointing to x_t" of eq. (12): √(1 − ᾱ_{t−1} − σ_t²)·ε.
        Tensor predSampleDirection = predEpsilon * MathF.Sqrt(1 - alphaProdTPrev - (stdDevT * stdDevT));

        // 7. x_{t−1} = √ᾱ_{t−1}·x0 + direction, eq. (12), plus σ_t·z when η > 0.
        Tensor prevSample = (predOriginalSample * MathF.Sqrt(alphaProdTPrev)) + predSampleDirection;
        if (Options.Eta > 0)
        {
            Tensor noise = SchedulerGuard.Noise(modelOutput.shape, modelOutput.dtype, modelOutput.device, generator, varianceNoise);
            prevSample = prevSample + (noise * stdDevT);
        }

        return new SchedulerOutput(prevSample.MoveToOuterDisposeScope(), predOriginalSample.MoveToOuterDisposeScope());
    }
}
