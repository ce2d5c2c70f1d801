using Diffusion.Schedulers.Internal;
using Point = Diffusion.Schedulers.Internal.DpmSolverUpdates.Point;

namespace Diffusion.Schedulers;

/// <summary>
/// UniPC (Zhao et al. 2023, https://arxiv.org/abs/2302.04867): a multistep predictor (UniP) of order
/// <see cref="UniPCMultistepSchedulerOptions.SolverOrder"/> followed, at the next call, by a corrector (UniC) that
/// reuses the new model output, so the order rises by one at no extra model evaluation. Good samples in 5–20 steps.
/// Numerically diffusers' <c>UniPCMultistepScheduler</c>.
/// </summary>
/// <remarks>
/// <para>The sample lives in VP space (<see cref="INoiseScheduler.InitNoiseSigma"/> 1,
/// <see cref="INoiseScheduler.ScaleModelInput"/> the identity); <see cref="INoiseScheduler.Timesteps"/> are int64. The
/// scheduler keeps the last SolverOrder converted model outputs and the last sample (owned by it, freed by
/// <see cref="SetTimesteps"/> and <see cref="IDisposable.Dispose"/>). It tracks its step like diffusers; a timestep
/// that is not the expected next one moves it there and drops the history, as does
/// <see cref="INoiseScheduler.SetBeginIndex"/> (the first steps then use lower orders); one that is not in the schedule
/// is an error (diffusers silently takes the last step).</para>
/// <para>One deliberate difference: with <see cref="UniPCSolverType.Bh1"/> and a final σ of 0, diffusers' last step is
/// NaN (B(h) = h = −∞ times a zero residual); here it is the first-order update that limit means (x0 of the last
/// output). <see cref="SchedulerOutput.PredOriginalSample"/> is null, as in diffusers.</para>
/// <para><see cref="INoiseScheduler.AddNoise"/> is α_t·x0 + σ_t·ε with σ of each timestep's place in
/// <see cref="INoiseScheduler.Timesteps"/> (diffusers); <see cref="INoiseScheduler.GetVelocity"/> (diffusers has none
/// here) is the VP velocity at whole training timesteps.</para>
/// </remarks>
public sealed class UniPCMultistepScheduler : SigmaNoiseScheduler<UniPCMultistepSchedulerOptions>
{
    private readonly ModelOutputHistory _modelOutputs;
    private Tensor? _lastSample;
    private int _thisOrder;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults (bh2, order 2, data prediction).</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public UniPCMultistepScheduler(UniPCMultistepSchedulerOptions? options = null)
        : base(options ??= new(), options.Violations(), SigmaSampleSpace.VariancePreserving)
    {
        _modelOutputs = new ModelOutputHistory(Options.SolverOrder);
    }

    /// <inheritdoc/>
    public override void SetTimesteps(int numInferenceSteps)
    {
        double[] timesteps = SigmaTimesteps.MultistepTimesteps(Options, Options.NumTrainTimesteps, numInferenceSteps);
        float[] trainingSigmas = Schedule.Sigmas();
        double[] sigmas;
        float last;
        if (Options.UseKarrasSigmas)
        {
            // Karras σ between the bounds (or the training σ's ends), timesteps rounded to where they fall.
            sigmas = SigmaSchedules.Karras(Options.SigmaMin ?? trainingSigmas[0], Options.SigmaMax ?? trainingSigmas[^1], numInferenceSteps);
            timesteps = SigmaSchedules.PlaceTimesteps(sigmas, trainingSigmas).Select(NumpyMath.Round).ToArray();
            last = Options.FinalSigmasType == FinalSigmasType.SigmaMin ? (float)sigmas[^1] : 0f;
        }
        else
        {
            sigmas = SigmaTimesteps.Interpolate(timesteps, trainingSigmas);
            last = SigmaTimesteps.FinalSigma(Options.FinalSigmasType, trainingSigmas);
        }

        Steps.SetWhole(timesteps, sigmas, last);
    }

    /// <inheritdoc/>
    /// <remarks>Deterministic: <paramref name="generator"/> and <paramref name="varianceNoise"/> are not used.</remarks>
    public override SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int i = Steps.StepIndex(modelOutput, timestep, sample, generator, varianceNoise, nameof(UniPCMultistepScheduler));
        int count = Steps.Timesteps.Length;

        using var scope = NewDisposeScope();

        // 1. Convert the model output to x0 (or ε) at σ_i.
        Tensor converted = ConvertModelOutput(modelOutput, sample, i);

        // 2. UniC: correct the last prediction with this output (order of the last predictor step).
        bool useCorrector = i > 0 && !Options.DisableCorrector.Contains(i - 1) && _lastSample is not null;
        if (useCorrector)
        {
            sample = Update(Steps.Sigmas[i], Steps.Sigmas[i - 1], i - 2, _lastSample!, converted);
        }

        // 3. Push this output onto the history.
        _modelOutputs.Push(converted);

        // 4. The predictor's order: warm-up from 1, and at most the steps left with lower_order_final.
        int order = Options.LowerOrderFinal ? Math.Min(Options.SolverOrder, count - i) : Options.SolverOrder;
        _thisOrder = Math.Min(order, _modelOutputs.LowerOrderNums + 1);
        _lastSample?.Dispose();
        _lastSample = sample.alias().DetachFromDisposeScope();

        // 5. UniP from σ_i to σ_{i+1}.
        Tensor prevSample = Update(Steps.Sigmas[i + 1], Steps.Sigmas[i], i - 1, sample, modelAtT: null);
        _modelOutputs.CountStep();

        Steps.Advance();
        return new SchedulerOutput(prevSample.to_type(sample.dtype).MoveToOuterDisposeScope(), null);
    }

    /// <summary>
    /// A UniP (<paramref name="modelAtT"/> null) or UniC update of order <see cref="_thisOrder"/> from σ_s0 to σ_t; the
    /// earlier points are σ[<paramref name="firstPrevious"/>], σ[firstPrevious − 1], … with the history's older outputs.
    /// </summary>
    private Tensor Update(float sigmaT, float sigmaS0, int firstPrevious, Tensor x, Tensor? modelAtT)
    {
        int order = _thisOrder;
        int newest = _modelOutputs.Length - 1;
        var previous = new Point[order - 1];
        var previousOutputs = new Tensor[order - 1];
        for (int k = 0; k < order - 1; k++)
        {
            previous[k] = Point.At(Steps.Sigmas[firstPrevious - k]);
            previousOutputs[k] = _modelOutputs[newest - 1 - k];
        }

        return UniPCUpdates.Update(Options.SolverType, Options.PredictX0, Point.At(sigmaT), Point.At(sigmaS0), _modelOutputs[newest], previous, previousOutputs, x, modelAtT);
    }

    /// <summary>x0 (predict_x0) or ε from the model output at step i, thresholded if asked.</summary>
    private Tensor ConvertModelOutput(Tensor modelOutput, Tensor sample, int i)
    {
        Point p = Point.At(Steps.Sigmas[i]);
        if (Options.PredictX0)
        {
            Tensor x0 = VpSpace.PredictOriginal(Options.PredictionType, modelOutput, sample, p);
            return Options.Thresholding ? DynamicThresholding.Apply(x0, Options.DynamicThresholdingRatio, Options.SampleMaxValue) : x0;
        }

        return VpSpace.PredictEpsilon(Options.PredictionType, modelOutput, sample, p);
    }

    /// <summary>Drops the model-output history and the last sample.</summary>
    private protected override void ClearState()
    {
        _modelOutputs.Clear();
        _lastSample?.Dispose();
        _lastSample = null;
        _thisOrder = 0;
    }
}
