using Diffusion.Schedulers.Internal;
using Point = Diffusion.Schedulers.Internal.DpmSolverUpdates.Point;

namespace Diffusion.Schedulers;

/// <summary>
/// UniPC (Zhao et al. 2023, https://arxiv.org/abs/2302.04867): a multistep predictor (UniP) of order
/// <see cref="UniPCMultistepSchedulerOptions.SolverOrder"/> followed, at the next call, by a corrector (UniC) that reuses
/// the new model output, so the order rises by one at no extra model evaluation. Good samples in 5–20 steps. Numerically
/// diffusers' <c>UniPCMultistepScheduler</c>.
/// </summary>
/// <remarks>
/// <para>The sample lives in VP space (<see cref="InitNoiseSigma"/> 1, <see cref="ScaleModelInput"/> the identity);
/// <see cref="Timesteps"/> are int64. The scheduler keeps the last SolverOrder converted model outputs and the last sample
/// (owned by it, freed by <see cref="SetTimesteps"/> and <see cref="Dispose"/>). It tracks its step like diffusers; a
/// timestep that is not the expected next one moves it there and drops the history; one that is not in the schedule is an
/// error (diffusers silently takes the last step).</para>
/// <para>One deliberate difference: with <see cref="UniPCSolverType.Bh1"/> and a final σ of 0, diffusers' last step is NaN
/// (B(h) = h = −∞ times a zero residual); here it is the first-order update that limit means (x0 of the last output).
/// <see cref="SchedulerOutput.PredOriginalSample"/> is null, as in diffusers.</para>
/// <para><see cref="AddNoise"/> is α_t·x0 + σ_t·ε with σ of each timestep's place in <see cref="Timesteps"/> (diffusers);
/// <see cref="GetVelocity"/> (diffusers has none here) is the VP velocity at whole training timesteps.</para>
/// </remarks>
public sealed class UniPCMultistepScheduler : INoiseScheduler, IDisposable
{
    private readonly TrainingSchedule _schedule;
    private readonly SigmaTimesteps _steps;
    private readonly ModelOutputHistory _modelOutputs;
    private Tensor? _lastSample;
    private int _thisOrder;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults (bh2, order 2, data prediction).</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public UniPCMultistepScheduler(UniPCMultistepSchedulerOptions? options = null)
    {
        Options = options ?? new UniPCMultistepSchedulerOptions();
        _schedule = TrainingSchedule.Validated(Options, Options.Violations(), zeroSnrFloor: true);
        _modelOutputs = new ModelOutputHistory(Options.SolverOrder);

        // Before SetTimesteps: every training timestep, and σ of each (diffusers' σ here run the other way, unused by it).
        _steps = new SigmaTimesteps(_schedule, ScalarType.Int64, restarted: ClearHistory);
    }

    /// <summary>The options this scheduler was built with.</summary>
    public UniPCMultistepSchedulerOptions Options { get; }

    /// <inheritdoc/>
    public int NumTrainTimesteps => Options.NumTrainTimesteps;

    /// <inheritdoc/>
    public Tensor Timesteps => _steps.Tensor;

    /// <inheritdoc/>
    public Tensor AlphasCumprod => _schedule.AlphasCumprodTensor;

    /// <summary>σ of each inference timestep plus the final one, float32 (a copy).</summary>
    public IReadOnlyList<float> Sigmas => _steps.Sigmas.ToArray();

    /// <inheritdoc/>
    public double InitNoiseSigma => 1.0;

    /// <inheritdoc/>
    public PredictionType PredictionType => Options.PredictionType;

    /// <inheritdoc/>
    /// <remarks>1 model evaluation per step, as diffusers' <c>order</c>; the multistep order is <see cref="UniPCMultistepSchedulerOptions.SolverOrder"/>.</remarks>
    public int Order => 1;

    /// <summary>The number of inference steps last set (the length of <see cref="Timesteps"/>), or null before <see cref="SetTimesteps"/>.</summary>
    public int? NumInferenceSteps => _steps.NumInferenceSteps;

    /// <inheritdoc/>
    public void SetTimesteps(int numInferenceSteps)
    {
        double[] timesteps = SigmaTimesteps.MultistepTimesteps(Options, Options.NumTrainTimesteps, numInferenceSteps);
        float[] trainingSigmas = _schedule.Sigmas();
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

        _steps.SetWhole(timesteps, sigmas, last);
    }

    /// <inheritdoc/>
    /// <remarks>The history starts empty, so the first steps use lower orders.</remarks>
    public void SetBeginIndex(int beginIndex) => _steps.SetBeginIndex(beginIndex, nameof(UniPCMultistepScheduler));

    /// <inheritdoc/>
    /// <remarks>The identity (a new handle on <paramref name="sample"/>).</remarks>
    public Tensor ScaleModelInput(Tensor sample, Tensor timestep) => SchedulerGuard.Unscaled(sample);

    /// <inheritdoc/>
    /// <remarks>Deterministic: <paramref name="generator"/> and <paramref name="varianceNoise"/> are not used.</remarks>
    public SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int i = _steps.StepIndex(modelOutput, timestep, sample, generator, varianceNoise, nameof(UniPCMultistepScheduler));
        int count = _steps.Timesteps.Length;

        using var scope = NewDisposeScope();

        // 1. Convert the model output to x0 (or ε) at σ_i.
        Tensor converted = ConvertModelOutput(modelOutput, sample, i);

        // 2. UniC: correct the last prediction with this output (order of the last predictor step).
        bool useCorrector = i > 0 && !Options.DisableCorrector.Contains(i - 1) && _lastSample is not null;
        if (useCorrector)
        {
            sample = Update(_steps.Sigmas[i], _steps.Sigmas[i - 1], i - 2, _lastSample!, converted);
        }

        // 3. Push this output onto the history.
        _modelOutputs.Push(converted);

        // 4. The predictor's order: warm-up from 1, and at most the steps left with lower_order_final.
        int order = Options.LowerOrderFinal ? Math.Min(Options.SolverOrder, count - i) : Options.SolverOrder;
        _thisOrder = Math.Min(order, _modelOutputs.LowerOrderNums + 1);
        _lastSample?.Dispose();
        _lastSample = sample.alias().DetachFromDisposeScope();

        // 5. UniP from σ_i to σ_{i+1}.
        Tensor prevSample = Update(_steps.Sigmas[i + 1], _steps.Sigmas[i], i - 1, sample, modelAtT: null);
        _modelOutputs.CountStep();

        _steps.Advance();
        return new SchedulerOutput(prevSample.to_type(sample.dtype).MoveToOuterDisposeScope(), null);
    }

    /// <inheritdoc/>
    /// <remarks>α_t·x0 + σ_t·ε with σ of each timestep's place in <see cref="Timesteps"/> (diffusers; after <see cref="SetBeginIndex"/>, the current step's σ).</remarks>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps) => _steps.AddNoiseVp(originalSamples, noise, timesteps);

    /// <inheritdoc/>
    public Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps) => _schedule.GetVelocity(sample, noise, timesteps);

    /// <summary>Frees the scheduler's tensors, including the history.</summary>
    public void Dispose()
    {
        ClearHistory();
        _schedule.Dispose();
        _steps.Dispose();
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
            previous[k] = Point.At(_steps.Sigmas[firstPrevious - k]);
            previousOutputs[k] = _modelOutputs[newest - 1 - k];
        }

        return UniPCUpdates.Update(Options.SolverType, Options.PredictX0, Point.At(sigmaT), Point.At(sigmaS0), _modelOutputs[newest], previous, previousOutputs, x, modelAtT);
    }

    /// <summary>x0 (predict_x0) or ε from the model output at step i, thresholded if asked.</summary>
    private Tensor ConvertModelOutput(Tensor modelOutput, Tensor sample, int i)
    {
        Point p = Point.At(_steps.Sigmas[i]);
        if (Options.PredictX0)
        {
            Tensor x0 = VpSpace.PredictOriginal(Options.PredictionType, modelOutput, sample, p);
            return Options.Thresholding ? DynamicThresholding.Apply(x0, Options.DynamicThresholdingRatio, Options.SampleMaxValue) : x0;
        }

        return VpSpace.PredictEpsilon(Options.PredictionType, modelOutput, sample, p);
    }

    private void ClearHistory()
    {
        _modelOutputs.Clear();
        _lastSample?.Dispose();
        _lastSample = null;
        _thisOrder = 0;
    }
}
