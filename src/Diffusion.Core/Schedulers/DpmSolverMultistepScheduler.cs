using Diffusion.Schedulers.Internal;
using Point = Diffusion.Schedulers.Internal.DpmSolverUpdates.Point;

namespace Diffusion.Schedulers;

/// <summary>
/// Multistep DPM-Solver and DPM-Solver++ (Lu et al. 2022, https://arxiv.org/abs/2206.00927 and
/// https://arxiv.org/abs/2211.01095): a fast high-order solver of the diffusion ODE (or SDE) in λ = log(α/σ),
/// good samples in 15–25 steps. Numerically diffusers' <c>DPMSolverMultistepScheduler</c>.
/// </summary>
/// <remarks>
/// <para>The scheduler keeps the last <see cref="DpmSolverMultistepSchedulerOptions.SolverOrder"/> model outputs
/// (owned by it, freed by <see cref="SetTimesteps"/> and <see cref="Dispose"/>). It tracks its step like diffusers;
/// a timestep that is not the expected next one moves it there and drops the history (the next steps use lower
/// orders again); one that is not in the schedule is an error (diffusers silently takes the last step).</para>
/// <para><see cref="SchedulerOutput.PredOriginalSample"/> is null, as in diffusers. <see cref="AddNoise"/> uses
/// σ of each timestep's place in <see cref="Timesteps"/> (diffusers); before <see cref="SetTimesteps"/> that is all
/// T training timesteps (diffusers' initial σ run in the opposite order to its timesteps, a bug not copied).
/// <see cref="GetVelocity"/> (diffusers has none here) is the VP velocity at whole training timesteps.</para>
/// </remarks>
public sealed class DpmSolverMultistepScheduler : INoiseScheduler, IDisposable
{
    private readonly TrainingSchedule _schedule;
    private readonly SigmaTimesteps _steps;
    private readonly ModelOutputHistory _modelOutputs;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults (DPM-Solver++, order 2).</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public DpmSolverMultistepScheduler(DpmSolverMultistepSchedulerOptions? options = null)
    {
        Options = options ?? new DpmSolverMultistepSchedulerOptions();
        _schedule = TrainingSchedule.Validated(Options, Options.Violations(), zeroSnrFloor: true);
        _modelOutputs = new ModelOutputHistory(Options.SolverOrder);
        _steps = new SigmaTimesteps(_schedule, ScalarType.Int64, restarted: _modelOutputs.Clear);
    }

    /// <summary>The options this scheduler was built with.</summary>
    public DpmSolverMultistepSchedulerOptions Options { get; }

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
    /// <remarks>1 model evaluation per step, as diffusers' <c>order</c>; the multistep order is <see cref="DpmSolverMultistepSchedulerOptions.SolverOrder"/>.</remarks>
    public int Order => 1;

    /// <summary>The number of inference steps last set (the length of <see cref="Timesteps"/>), or null before <see cref="SetTimesteps"/>.</summary>
    public int? NumInferenceSteps => _steps.NumInferenceSteps;

    /// <inheritdoc/>
    public void SetTimesteps(int numInferenceSteps)
    {
        // Skip the training timesteps whose λ is below lambda_min_clipped.
        int lastTimestep = Options.NumTrainTimesteps - ClippedCount();
        double[] timesteps = SigmaTimesteps.MultistepTimesteps(Options, lastTimestep, numInferenceSteps);

        float[] trainingSigmas = _schedule.Sigmas();
        double[] sigmas;
        if (Options.UseKarrasSigmas)
        {
            sigmas = SigmaSchedules.Karras(trainingSigmas[0], trainingSigmas[^1], numInferenceSteps);
            timesteps = SigmaSchedules.PlaceTimesteps(sigmas, trainingSigmas);
            if (Options.BetaSchedule != BetaSchedule.SquaredCosCapV2)
            {
                timesteps = timesteps.Select(NumpyMath.Round).ToArray();
            }
        }
        else
        {
            sigmas = SigmaTimesteps.Interpolate(timesteps, trainingSigmas);
        }

        _steps.SetWhole(timesteps, sigmas, SigmaTimesteps.FinalSigma(Options.FinalSigmasType, trainingSigmas));
    }

    /// <inheritdoc/>
    /// <remarks>The first <see cref="Step"/> after it is taken at <paramref name="beginIndex"/> (where its timestep is that element of <see cref="Timesteps"/>), with no history.</remarks>
    public void SetBeginIndex(int beginIndex) => _steps.SetBeginIndex(beginIndex, nameof(DpmSolverMultistepScheduler));

    /// <inheritdoc/>
    public Tensor ScaleModelInput(Tensor sample, Tensor timestep) => SchedulerGuard.Unscaled(sample);

    /// <inheritdoc/>
    /// <remarks>Noise is used only by the SDE algorithms.</remarks>
    public SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int i = _steps.StepIndex(modelOutput, timestep, sample, generator, varianceNoise, nameof(DpmSolverMultistepScheduler), CheckModelOutput);
        int count = _steps.Timesteps.Length;

        using var scope = NewDisposeScope();

        // 1. Lower orders at the end (fewer than 15 steps, euler_at_final, or a final σ of 0).
        bool lowerOrderFinal = i == count - 1 && (Options.EulerAtFinal || (Options.LowerOrderFinal && count < 15) || Options.FinalSigmasType == FinalSigmasType.Zero);
        bool lowerOrderSecond = i == count - 2 && Options.LowerOrderFinal && count < 15;

        // 2. Convert the model output to x0 (++) or ε, and push it onto the history.
        Tensor converted = ConvertModelOutput(modelOutput, sample, i);
        _modelOutputs.Push(converted);

        // 3. The SDE variants' noise, float32.
        Tensor x = sample.to_type(ScalarType.Float32);
        Tensor? noise = null;
        if (Options.AlgorithmType is DpmSolverAlgorithmType.SdeDpmSolverPlusPlus or DpmSolverAlgorithmType.SdeDpmSolver)
        {
            noise = SchedulerGuard.Noise(converted.shape, ScalarType.Float32, converted.device, generator, varianceNoise);
        }

        // 4. The update from λ_s (σ_i) to λ_t (σ_{i+1}) of the order the history allows.
        Point t = Point.At(_steps.Sigmas[i + 1]);
        Point s0 = Point.At(_steps.Sigmas[i]);
        Tensor prevSample;
        int order = Options.SolverOrder;
        if (order == 1 || _modelOutputs.LowerOrderNums < 1 || lowerOrderFinal)
        {
            prevSample = DpmSolverUpdates.FirstOrder(Options.AlgorithmType, t, s0, x, converted, noise);
        }
        else if (order == 2 || _modelOutputs.LowerOrderNums < 2 || lowerOrderSecond)
        {
            prevSample = DpmSolverUpdates.SecondOrder(Options.AlgorithmType, Options.SolverType, t, s0, Point.At(_steps.Sigmas[i - 1]), x, _modelOutputs[^1], _modelOutputs[^2], noise);
        }
        else
        {
            prevSample = DpmSolverUpdates.ThirdOrder(Options.AlgorithmType, t, s0, Point.At(_steps.Sigmas[i - 1]), Point.At(_steps.Sigmas[i - 2]), x, _modelOutputs[^1], _modelOutputs[^2], _modelOutputs[^3], noise);
        }

        _modelOutputs.CountStep();

        _steps.Advance();
        return new SchedulerOutput(prevSample.to_type(converted.dtype).MoveToOuterDisposeScope(), null);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// α_t·x0 + σ_t·ε with σ of each timestep's place in <see cref="Timesteps"/>; every timestep must be in it. After
    /// <see cref="SetBeginIndex"/> the begin index (or the current step) is that place where the timestep is there.
    /// </remarks>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps) => _steps.AddNoiseVp(originalSamples, noise, timesteps);

    /// <inheritdoc/>
    public Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps) => _schedule.GetVelocity(sample, noise, timesteps);

    /// <summary>Frees the scheduler's tensors, including the model-output history.</summary>
    public void Dispose()
    {
        _modelOutputs.Clear();
        _schedule.Dispose();
        _steps.Dispose();
    }

    /// <summary>x0 (DPM-Solver++) or ε (DPM-Solver) from the model output at step i, thresholded if asked.</summary>
    private Tensor ConvertModelOutput(Tensor modelOutput, Tensor sample, int i)
    {
        if (Options.VarianceType is not null && modelOutput.shape[1] == 2 * sample.shape[1])
        {
            modelOutput = modelOutput.narrow(1, 0, sample.shape[1]);
        }

        Point p = Point.At(_steps.Sigmas[i]);
        bool plusPlus = Options.AlgorithmType is DpmSolverAlgorithmType.DpmSolverPlusPlus or DpmSolverAlgorithmType.SdeDpmSolverPlusPlus;
        Tensor Threshold(Tensor x0) => Options.Thresholding ? DynamicThresholding.Apply(x0, Options.DynamicThresholdingRatio, Options.SampleMaxValue) : x0;

        if (plusPlus)
        {
            return Threshold(VpSpace.PredictOriginal(Options.PredictionType, modelOutput, sample, p));
        }

        Tensor epsilon = VpSpace.PredictEpsilon(Options.PredictionType, modelOutput, sample, p);
        if (!Options.Thresholding)
        {
            return epsilon;
        }

        Tensor x0 = Threshold((sample - (epsilon * p.Sigma)) / p.Alpha);
        return (sample - (x0 * p.Alpha)) / p.Sigma;
    }

    /// <summary>How many training timesteps at the low-noise end have λ below lambda_min_clipped (torch.searchsorted on the flipped λ).</summary>
    private int ClippedCount()
    {
        if (double.IsNegativeInfinity(Options.LambdaMinClipped))
        {
            return 0;
        }

        using var scope = NewDisposeScope();
        Tensor alphasCumprod = _schedule.AlphasCumprodTensor;
        Tensor lambda = alphasCumprod.sqrt().log() - (1 - alphasCumprod).sqrt().log();
        float[] flipped = lambda.flip(0).data<float>().ToArray();
        int index = 0;
        while (index < flipped.Length && flipped[index] < Options.LambdaMinClipped)
        {
            index++;
        }

        return index;
    }

    private void CheckModelOutput(Tensor modelOutput, Tensor sample)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        ArgumentNullException.ThrowIfNull(sample);
        bool doubled = Options.VarianceType is not null && sample.dim() >= 2 && modelOutput.dim() == sample.dim()
            && modelOutput.shape[1] == 2 * sample.shape[1] && modelOutput.shape.Skip(2).SequenceEqual(sample.shape.Skip(2)) && modelOutput.shape[0] == sample.shape[0];
        if (!doubled)
        {
            SchedulerGuard.ModelOutputShape(modelOutput, sample);
        }
    }
}
