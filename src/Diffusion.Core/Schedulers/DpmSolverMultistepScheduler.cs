using Diffusion.Schedulers.Internal;
using Point = Diffusion.Schedulers.Internal.DpmSolverUpdates.Point;

namespace Diffusion.Schedulers;

/// <summary>
/// Multistep DPM-Solver and DPM-Solver++ (Lu et al. 2022, https://arxiv.org/abs/2206.00927 and
/// https://arxiv.org/abs/2211.01095): a fast high-order solver of the diffusion ODE (or SDE) in λ = log(α/σ), good
/// samples in 15–25 steps. Numerically diffusers' <c>DPMSolverMultistepScheduler</c>.
/// </summary>
/// <remarks>
/// <para>The scheduler keeps the last <see cref="DpmSolverMultistepSchedulerOptions.SolverOrder"/> model outputs (owned
/// by it, freed by <see cref="SetTimesteps"/> and <see cref="IDisposable.Dispose"/>). It tracks its step like
/// diffusers; a timestep that is not the expected next one moves it there and drops the history (the next steps use
/// lower orders again), as does <see cref="INoiseScheduler.SetBeginIndex"/>; one that is not in the schedule is an
/// error (diffusers silently takes the last step).</para>
/// <para><see cref="SchedulerOutput.PredOriginalSample"/> is null, as in diffusers.
/// <see cref="INoiseScheduler.AddNoise"/> uses σ of each timestep's place in <see cref="INoiseScheduler.Timesteps"/>
/// (diffusers); before <see cref="SetTimesteps"/> that is all T training timesteps (diffusers' initial σ run in the
/// opposite order to its timesteps, a bug not copied). <see cref="INoiseScheduler.GetVelocity"/> (diffusers has none
/// here) is the VP velocity at whole training timesteps.</para>
/// </remarks>
public sealed class DpmSolverMultistepScheduler : SigmaNoiseScheduler<DpmSolverMultistepSchedulerOptions>
{
    private readonly ModelOutputHistory _modelOutputs;

    /// <summary>Creates the scheduler.</summary>
    /// <param name="options">The options; null means diffusers' defaults (DPM-Solver++, order 2).</param>
    /// <exception cref="ArgumentException">The options break one or more rules; the message lists all.</exception>
    public DpmSolverMultistepScheduler(DpmSolverMultistepSchedulerOptions? options = null)
        : base(options ??= new(), options.Violations(), SigmaSampleSpace.VariancePreserving)
    {
        _modelOutputs = new ModelOutputHistory(Options.SolverOrder);
    }

    /// <inheritdoc/>
    public override void SetTimesteps(int numInferenceSteps)
    {
        // Skip the training timesteps whose λ is below lambda_min_clipped.
        int lastTimestep = Options.NumTrainTimesteps - ClippedCount();
        double[] timesteps = SigmaTimesteps.MultistepTimesteps(Options, lastTimestep, numInferenceSteps);

        float[] trainingSigmas = Schedule.Sigmas();
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

        Steps.SetWhole(timesteps, sigmas, SigmaTimesteps.FinalSigma(Options.FinalSigmasType, trainingSigmas));
    }

    /// <inheritdoc/>
    /// <remarks>Noise is used only by the SDE algorithms.</remarks>
    public override SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        int i = Steps.StepIndex(modelOutput, timestep, sample, generator, varianceNoise, nameof(DpmSolverMultistepScheduler), CheckModelOutput);
        int count = Steps.Timesteps.Length;

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
        Point t = Point.At(Steps.Sigmas[i + 1]);
        Point s0 = Point.At(Steps.Sigmas[i]);
        Tensor prevSample;
        int order = Options.SolverOrder;
        if (order == 1 || _modelOutputs.LowerOrderNums < 1 || lowerOrderFinal)
        {
            prevSample = DpmSolverUpdates.FirstOrder(Options.AlgorithmType, t, s0, x, converted, noise);
        }
        else if (order == 2 || _modelOutputs.LowerOrderNums < 2 || lowerOrderSecond)
        {
            prevSample = DpmSolverUpdates.SecondOrder(Options.AlgorithmType, Options.SolverType, t, s0, Point.At(Steps.Sigmas[i - 1]), x, _modelOutputs[^1], _modelOutputs[^2], noise);
        }
        else
        {
            prevSample = DpmSolverUpdates.ThirdOrder(Options.AlgorithmType, t, s0, Point.At(Steps.Sigmas[i - 1]), Point.At(Steps.Sigmas[i - 2]), x, _modelOutputs[^1], _modelOutputs[^2], _modelOutputs[^3], noise);
        }

        _modelOutputs.CountStep();

        Steps.Advance();
        return new SchedulerOutput(prevSample.to_type(converted.dtype).MoveToOuterDisposeScope(), null);
    }

    /// <summary>Drops the model-output history.</summary>
    private protected override void ClearState() => _modelOutputs.Clear();

    /// <summary>x0 (DPM-Solver++) or ε (DPM-Solver) from the model output at step i, thresholded if asked.</summary>
    private Tensor ConvertModelOutput(Tensor modelOutput, Tensor sample, int i)
    {
        if (Options.VarianceType is not null && modelOutput.shape[1] == 2 * sample.shape[1])
        {
            modelOutput = modelOutput.narrow(1, 0, sample.shape[1]);
        }

        Point p = Point.At(Steps.Sigmas[i]);
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
        Tensor alphasCumprod = Schedule.AlphasCumprodTensor;
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
