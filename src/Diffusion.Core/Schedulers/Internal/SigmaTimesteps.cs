namespace Diffusion.Schedulers.Internal;

/// <summary>
/// The inference schedule of the σ-based schedulers (Euler, Euler ancestral, LMS, Heun, DPM-Solver, UniPC): the
/// timesteps, σ of each plus the final σ, the timesteps tensor the scheduler owns (float32 for the Euler type, int64 for
/// the multistep VP solvers), the sample space that goes with them (<see cref="SigmaSampleSpace"/>), and where the
/// sampling loop is (diffusers' step and begin index). A scheduler with state
/// tied to that position (a Heun half-step, LMS derivatives, multistep outputs) passes a callback that drops it whenever
/// the loop restarts: after a new schedule, after a begin index, and when a timestep is not the expected next one.
/// </summary>
internal sealed class SigmaTimesteps : IInferenceTimesteps
{
    private readonly StepCursor _cursor = new();
    private readonly SigmaSampleSpace _space;
    private readonly Action? _restarted;
    private Tensor _tensor;

    /// <summary>Before SetTimesteps: every training timestep, T − 1 down to 0, and σ down to 0 (diffusers' initial state).</summary>
    /// <param name="schedule">The training schedule whose σ these are.</param>
    /// <param name="space">The sample space: σ-space with float32 (fractional) timesteps, or VP space with int64 ones.</param>
    /// <param name="restarted">Called after <see cref="Set"/> and <see cref="SetBeginIndex"/>, and when <see cref="Locate(Tensor, out bool)"/> jumps.</param>
    public SigmaTimesteps(TrainingSchedule schedule, SigmaSampleSpace space = SigmaSampleSpace.VarianceExploding, Action? restarted = null)
    {
        int n = schedule.NumTrainTimesteps;
        _space = space;
        _restarted = restarted;
        Timesteps = NumpyMath.Linspace(0, n - 1, n).Reverse().Select(t => (float)t).ToArray();
        Sigmas = [.. schedule.Sigmas().Reverse(), 0f];
        _tensor = Create(Timesteps);
    }

    /// <summary>The inference timesteps, highest first (float32; linspace spacing makes the Euler type's fractional).</summary>
    public float[] Timesteps { get; private set; }

    /// <summary>σ of each inference timestep, then the final σ.</summary>
    public float[] Sigmas { get; private set; }

    /// <summary><see cref="Timesteps"/> as a tensor owned by this object.</summary>
    public Tensor Tensor => _tensor;

    /// <summary>Null until <see cref="Set"/> runs.</summary>
    public int? NumInferenceSteps { get; private set; }

    /// <summary>
    /// diffusers' Euler-type timesteps for N steps (linspace kept fractional in float32, leading plus the offset,
    /// trailing), highest first; a count out of range or an offset past the last training timestep is an error.
    /// </summary>
    public static double[] SpacedTimesteps(NoiseScheduleOptions options, int numInferenceSteps)
    {
        int numTrain = options.NumTrainTimesteps;
        SchedulerGuard.NumInferenceSteps(numInferenceSteps, numTrain);
        double[] timesteps = TimestepSchedules.Spaced(options.TimestepSpacing, numTrain, numInferenceSteps, options.StepsOffset, roundLinspace: false);
        return WithinTraining(timesteps, options, numInferenceSteps);
    }

    /// <summary>
    /// The multistep solvers' timesteps for N steps (<see cref="TimestepSchedules.DpmSolver"/> up to
    /// <paramref name="lastTimestep"/>), highest first; a count out of range or an offset past the last training
    /// timestep is an error.
    /// </summary>
    public static double[] MultistepTimesteps(NoiseScheduleOptions options, int lastTimestep, int numInferenceSteps)
    {
        int numTrain = options.NumTrainTimesteps;
        SchedulerGuard.NumInferenceSteps(numInferenceSteps, numTrain);
        double[] timesteps = TimestepSchedules.DpmSolver(options.TimestepSpacing, numTrain, lastTimestep, numInferenceSteps, options.StepsOffset);
        return WithinTraining(timesteps, options, numInferenceSteps);
    }

    /// <summary>
    /// The LMS and Heun schedule for N steps: <see cref="SpacedTimesteps"/> and σ at each, plain, Karras or exponential
    /// (<see cref="SigmaSchedules.Interpolated"/>, which moves the timesteps to where Karras or exponential σ fall).
    /// </summary>
    public static (double[] Timesteps, double[] Sigmas) Spread(NoiseScheduleOptions options, TrainingSchedule schedule, int numInferenceSteps, SigmaSpread spread)
    {
        double[] timesteps = SpacedTimesteps(options, numInferenceSteps);
        double[] sigmas = SigmaSchedules.Interpolated(schedule.Sigmas(), ref timesteps, spread);
        return (timesteps, sigmas);
    }

    /// <summary>σ at each (fractional) timestep: numpy.interp over the training σ, in float64 as diffusers.</summary>
    public static double[] Interpolate(double[] timesteps, float[] trainingSigmas) =>
        timesteps.Select(t => NumpyMath.Interp(t, trainingSigmas)).ToArray();

    /// <summary>The σ after the last step: the smallest training σ or 0 (diffusers' final_sigmas_type).</summary>
    public static float FinalSigma(FinalSigmasType type, float[] trainingSigmas) =>
        type == FinalSigmasType.SigmaMin ? trainingSigmas[0] : 0f;

    /// <summary>Replaces the schedule (rounding to float32 as diffusers' astype does) and forgets the position.</summary>
    public void Set(double[] timesteps, double[] sigmas, float finalSigma, int numInferenceSteps)
    {
        Sigmas = [.. sigmas.Select(s => (float)s), finalSigma];
        Timesteps = timesteps.Select(t => (float)t).ToArray();
        _tensor.Dispose();
        _tensor = Create(Timesteps);
        _cursor.Reset();
        NumInferenceSteps = numInferenceSteps;
        _restarted?.Invoke();
    }

    /// <summary>
    /// <see cref="Set"/> for the int64 schedules of the multistep solvers: the timesteps truncated toward zero (numpy's
    /// astype(int64)); N is their count.
    /// </summary>
    public void SetWhole(double[] timesteps, double[] sigmas, float finalSigma) =>
        Set(timesteps.Select(t => (double)(long)t).ToArray(), sigmas, finalSigma, timesteps.Length);

    /// <summary>The largest σ, or √(σmax² + 1) for leading spacing (diffusers' init_noise_sigma); 1 in VP space.</summary>
    public double InitNoiseSigma(TimestepSpacing spacing)
    {
        if (_space == SigmaSampleSpace.VariancePreserving)
        {
            return 1.0;
        }

        float max = Sigmas.Max();
        return spacing == TimestepSpacing.Leading ? MathF.Sqrt((max * max) + 1) : max;
    }

    /// <summary>The schedule index of the step at <paramref name="timestep"/> (see <see cref="StepCursor.Locate"/>).</summary>
    public int Locate(Tensor timestep) => Locate(timestep, out _);

    /// <summary>As <see cref="Locate(Tensor)"/>; <paramref name="jumped"/> says the timestep was not the expected next one (then the restart callback has run).</summary>
    public int Locate(Tensor timestep, out bool jumped)
    {
        int index = _cursor.Locate(SchedulerGuard.ReadTimestep(timestep), Timesteps, out jumped);
        if (jumped)
        {
            _restarted?.Invoke();
        }

        return index;
    }

    /// <summary>
    /// The checks every σ-based Step makes, in order (SetTimesteps has run, the model output fits the sample, at most one
    /// noise source), then the index of the step (<see cref="Locate(Tensor)"/>).
    /// </summary>
    /// <param name="modelOutput">The model output.</param>
    /// <param name="timestep">The step's timestep.</param>
    /// <param name="sample">The sample.</param>
    /// <param name="generator">The generator argument.</param>
    /// <param name="varianceNoise">The noise argument.</param>
    /// <param name="schedulerName">Names the scheduler in the message for a Step before SetTimesteps.</param>
    /// <param name="checkModelOutput">The model output check; null: the sample's shape.</param>
    public int StepIndex(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator, Tensor? varianceNoise, string schedulerName, Action<Tensor, Tensor>? checkModelOutput = null)
    {
        if (NumInferenceSteps is null)
        {
            throw SchedulerGuard.StepBeforeSetTimesteps(schedulerName);
        }

        (checkModelOutput ?? SchedulerGuard.ModelOutputShape)(modelOutput, sample);
        SchedulerGuard.NotBoth(generator, varianceNoise);
        return Locate(timestep);
    }

    /// <summary>Moves past the step just taken.</summary>
    public void Advance() => _cursor.Advance();

    /// <summary>diffusers' set_begin_index: the next step is a first step, at <paramref name="beginIndex"/>.</summary>
    public void SetBeginIndex(int beginIndex, string schedulerName)
    {
        SchedulerGuard.BeginIndex(beginIndex, NumInferenceSteps is not null, Timesteps.Length, schedulerName);
        _cursor.Begin(beginIndex);
        _restarted?.Invoke();
    }

    /// <summary>x / √(σ² + 1): the model sees unit-variance input; in VP space x itself (a new handle).</summary>
    public Tensor ScaleModelInput(Tensor sample, Tensor timestep)
    {
        if (_space == SigmaSampleSpace.VariancePreserving)
        {
            return SchedulerGuard.Unscaled(sample);
        }

        ArgumentNullException.ThrowIfNull(sample);
        float sigma = Sigmas[Locate(timestep)];
        return sample / MathF.Sqrt((sigma * sigma) + 1);
    }

    /// <summary>
    /// diffusers' add_noise with σ of each timestep's place in the schedule: in σ-space x0 + σ·ε; in VP space (the
    /// multistep solvers) α_t·x0 + σ_t·ε with α_t = 1/√(σ² + 1), σ_t = σ·α_t (_sigma_to_alpha_sigma_t in the samples' dtype).
    /// </summary>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps)
    {
        using var scope = NewDisposeScope();
        Tensor sigmaT = SigmaPerSample(originalSamples, noise, timesteps);
        if (_space == SigmaSampleSpace.VarianceExploding)
        {
            return (originalSamples + (noise * sigmaT)).MoveToOuterDisposeScope();
        }

        Tensor alphaT = (sigmaT.square() + 1).sqrt().reciprocal();
        Tensor sigmaTVp = sigmaT * alphaT;
        return ((alphaT * originalSamples) + (sigmaTVp * noise)).MoveToOuterDisposeScope();
    }

    public void Dispose() => _tensor.Dispose();

    /// <summary>AddNoise's checks, then σ of each timestep as [N, 1, 1, …] in the samples' dtype and device.</summary>
    private Tensor SigmaPerSample(Tensor originalSamples, Tensor noise, Tensor timesteps)
    {
        SchedulerGuard.SameShape(originalSamples, nameof(originalSamples), noise, nameof(noise));
        SchedulerGuard.CheckBatch(timesteps, originalSamples, nameof(timesteps));
        float[] sigma = _cursor.NoiseIndices(timesteps, Timesteps).Select(i => Sigmas[i]).ToArray();
        return tensor(sigma, dtype: ScalarType.Float32).to(originalSamples.dtype, originalSamples.device)
            .reshape(TrainingSchedule.BroadcastShape(sigma.Length, originalSamples.dim()));
    }

    private static double[] WithinTraining(double[] timesteps, NoiseScheduleOptions options, int numInferenceSteps)
    {
        if (timesteps.Length > 0)
        {
            SchedulerGuard.WithinTraining(timesteps.Max(), options.NumTrainTimesteps, options.StepsOffset, numInferenceSteps, options.TimestepSpacing);
        }

        return timesteps;
    }

    /// <summary>A tensor of the timesteps (int64 ones truncate toward zero, as numpy's astype).</summary>
    private Tensor Create(float[] values) => (_space == SigmaSampleSpace.VariancePreserving
        ? tensor(values.Select(t => (long)t).ToArray(), dtype: ScalarType.Int64)
        : tensor(values, dtype: ScalarType.Float32)).DetachFromDisposeScope();
}
