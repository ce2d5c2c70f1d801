using static TorchSharp.torch;

namespace Diffusion.Schedulers.Internal;

/// <summary>The integer inference timesteps of DDPM and DDIM, as an array and as an int64 tensor the scheduler owns.</summary>
internal sealed class DiscreteTimesteps : IDisposable
{
    private Tensor _tensor;

    /// <summary>Before SetTimesteps: every training timestep, T − 1 down to 0 (diffusers' initial state).</summary>
    public DiscreteTimesteps(int numTrainTimesteps)
    {
        NumTrainTimesteps = numTrainTimesteps;
        Values = Enumerable.Range(0, numTrainTimesteps).Reverse().Select(t => (long)t).ToArray();
        _tensor = Create(Values);
    }

    public int NumTrainTimesteps { get; }

    /// <summary>Null until <see cref="Set"/> runs.</summary>
    public int? NumInferenceSteps { get; private set; }

    public long[] Values { get; private set; }

    public Tensor Tensor => _tensor;

    /// <summary>Sets N timesteps by the spacing rule (diffusers' set_timesteps).</summary>
    public void Set(ITrainingScheduleOptions options, int numInferenceSteps)
    {
        SchedulerGuard.NumInferenceSteps(numInferenceSteps, NumTrainTimesteps);
        double[] spaced = TimestepSchedules.Spaced(options.TimestepSpacing, NumTrainTimesteps, numInferenceSteps, options.StepsOffset, roundLinspace: true);
        long[] values = spaced.Select(v => (long)v).ToArray();
        long max = values.Max();
        if (max >= NumTrainTimesteps)
        {
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), $"StepsOffset (steps_offset) {options.StepsOffset} with {numInferenceSteps} {options.TimestepSpacing} steps gives timestep {max}, beyond the last training timestep ({NumTrainTimesteps - 1}); use fewer steps or a smaller offset.");
        }

        Values = values;
        NumInferenceSteps = numInferenceSteps;
        _tensor.Dispose();
        _tensor = Create(values);
    }

    /// <summary>The position of <paramref name="timestep"/> in the schedule (first match); throws if it is not there.</summary>
    public int IndexOf(long timestep)
    {
        int index = Array.IndexOf(Values, timestep);
        return index >= 0 ? index : throw SchedulerGuard.NotInSchedule(timestep, Values.Length);
    }

    public void Dispose() => _tensor.Dispose();

    private static Tensor Create(long[] values) => tensor(values, dtype: ScalarType.Int64).DetachFromDisposeScope();
}
