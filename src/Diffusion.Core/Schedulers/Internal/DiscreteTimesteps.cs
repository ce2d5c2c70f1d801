namespace Diffusion.Schedulers.Internal;

/// <summary>
/// The integer inference timesteps of DDPM, DDIM and PNDM, as an array and as an int64 tensor the scheduler owns. Their
/// samples live in VP space at training timesteps: the model input is unscaled, the initial noise 1, and the forward
/// process q(x_t | x_0) of the training schedule.
/// </summary>
internal sealed class DiscreteTimesteps : IInferenceTimesteps
{
    private readonly TrainingSchedule _schedule;
    private Tensor _tensor;

    /// <summary>Before SetTimesteps: every training timestep, T − 1 down to 0 (diffusers' initial state).</summary>
    /// <param name="schedule">The training schedule (not owned: the scheduler disposes it).</param>
    public DiscreteTimesteps(TrainingSchedule schedule)
    {
        _schedule = schedule;
        NumTrainTimesteps = schedule.NumTrainTimesteps;
        Values = Enumerable.Range(0, NumTrainTimesteps).Reverse().Select(t => (long)t).ToArray();
        _tensor = Create(Values);
    }

    public int NumTrainTimesteps { get; }

    /// <summary>Null until a Set runs.</summary>
    public int? NumInferenceSteps { get; private set; }

    public long[] Values { get; private set; }

    public Tensor Tensor => _tensor;

    /// <summary>Where the sampling loop starts (SetBeginIndex), or null; cleared by <see cref="Set(NoiseScheduleOptions, int)"/>.</summary>
    public int? BeginIndex { get; private set; }

    /// <summary>Sets N timesteps by the spacing rule (diffusers' set_timesteps).</summary>
    public void Set(NoiseScheduleOptions options, int numInferenceSteps) =>
        Set(Spaced(options, NumTrainTimesteps, numInferenceSteps), numInferenceSteps);

    /// <summary>Sets the timesteps to <paramref name="values"/> (highest first; PNDM's list repeats some).</summary>
    public void Set(long[] values, int numInferenceSteps)
    {
        Values = values;
        NumInferenceSteps = numInferenceSteps;
        BeginIndex = null;
        _tensor.Dispose();
        _tensor = Create(values);
    }

    /// <summary>Checks and records a begin index (DDPM, DDIM and PNDM find their step from the timestep's value or a counter, so nothing else changes).</summary>
    public void SetBeginIndex(int beginIndex, string schedulerName)
    {
        SchedulerGuard.BeginIndex(beginIndex, NumInferenceSteps is not null, Values.Length, schedulerName);
        BeginIndex = beginIndex;
    }

    /// <summary>
    /// N whole timesteps out of <paramref name="numTrainTimesteps"/> by the spacing rule, highest first (diffusers'
    /// DDPM, DDIM and PNDM set_timesteps); the count is checked, and so is the last timestep against the offset.
    /// </summary>
    public static long[] Spaced(NoiseScheduleOptions options, int numTrainTimesteps, int numInferenceSteps)
    {
        SchedulerGuard.NumInferenceSteps(numInferenceSteps, numTrainTimesteps);
        double[] spaced = TimestepSchedules.Spaced(options.TimestepSpacing, numTrainTimesteps, numInferenceSteps, options.StepsOffset, roundLinspace: true);
        long[] values = spaced.Select(v => (long)v).ToArray();
        long max = values.Max();
        if (max >= numTrainTimesteps)
        {
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), $"StepsOffset (steps_offset) {options.StepsOffset} with {numInferenceSteps} {options.TimestepSpacing} steps gives timestep {max}, beyond the last training timestep ({numTrainTimesteps - 1}); use fewer steps or a smaller offset.");
        }

        return values;
    }

    /// <summary>
    /// The checks every DDPM, DDIM and PNDM Step makes, in order (SetTimesteps has run, the model output fits the sample,
    /// at most one noise source, a whole training timestep that is in the schedule); returns the timestep.
    /// </summary>
    /// <param name="modelOutput">The model output.</param>
    /// <param name="timestep">The step's timestep.</param>
    /// <param name="sample">The sample.</param>
    /// <param name="generator">The generator argument.</param>
    /// <param name="varianceNoise">The noise argument.</param>
    /// <param name="schedulerName">Names the scheduler in the message for a Step before SetTimesteps.</param>
    /// <param name="index">The timestep's position in the schedule (first match).</param>
    /// <param name="checkModelOutput">The model output check; null: the sample's shape.</param>
    public int StepTimestep(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator, Tensor? varianceNoise, string schedulerName, out int index, Action<Tensor, Tensor>? checkModelOutput = null)
    {
        if (NumInferenceSteps is null)
        {
            throw SchedulerGuard.StepBeforeSetTimesteps(schedulerName);
        }

        (checkModelOutput ?? SchedulerGuard.ModelOutputShape)(modelOutput, sample);
        SchedulerGuard.NotBoth(generator, varianceNoise);
        int t = SchedulerGuard.ReadIntegerTimestep(timestep, NumTrainTimesteps);
        index = IndexOf(t);
        return t;
    }

    /// <summary>The timestep after position <paramref name="index"/>, or −1 past the last one.</summary>
    public long Next(int index) => index + 1 < Values.Length ? Values[index + 1] : -1;

    /// <summary>The position of <paramref name="timestep"/> in the schedule (first match); throws if it is not there.</summary>
    public int IndexOf(long timestep)
    {
        int index = Array.IndexOf(Values, timestep);
        return index >= 0 ? index : throw SchedulerGuard.NotInSchedule(timestep, Values.Length);
    }

    /// <summary>1: the samples are in VP space.</summary>
    public double InitNoiseSigma(TimestepSpacing spacing) => 1.0;

    /// <summary>The sample itself (a new handle).</summary>
    public Tensor ScaleModelInput(Tensor sample, Tensor timestep) => SchedulerGuard.Unscaled(sample);

    /// <summary>q(x_t | x_0) at training timesteps (<see cref="TrainingSchedule.AddNoise"/>).</summary>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps) => _schedule.AddNoise(originalSamples, noise, timesteps);

    public void Dispose() => _tensor.Dispose();

    private static Tensor Create(long[] values) => tensor(values, dtype: ScalarType.Int64).DetachFromDisposeScope();
}
