namespace Diffusion.Schedulers.Internal;

/// <summary>
/// Where a multistep (stateful) scheduler is in its schedule. diffusers keeps a step counter that starts at the
/// index of the first timestep it is given and then only counts up. We do the same, but check each timestep:
/// one that is not the expected next one moves the cursor to where it is in the schedule (and the caller drops
/// its history, see <see cref="Locate"/>), and one that is not in the schedule at all is an error.
/// A begin index (diffusers' set_begin_index) says where the first step is: image-to-image starts mid-schedule.
/// </summary>
internal sealed class StepCursor
{
    /// <summary>The index of the step about to run, or null before the first call after SetTimesteps.</summary>
    public int? Index { get; private set; }

    /// <summary>Where the first step is (set by SetBeginIndex), or null to find it from the first timestep.</summary>
    public int? BeginIndex { get; private set; }

    /// <summary>Forget the position and the begin index (SetTimesteps; diffusers clears its begin index there too).</summary>
    public void Reset()
    {
        Index = null;
        BeginIndex = null;
    }

    /// <summary>The next step is a first step, at <paramref name="beginIndex"/> (checked by the caller).</summary>
    public void Begin(int beginIndex)
    {
        Index = null;
        BeginIndex = beginIndex;
    }

    /// <summary>Move past the step just taken.</summary>
    public void Advance() => Index = (Index ?? throw new InvalidOperationException("Advance before Locate.")) + 1;

    /// <summary>
    /// The schedule index of <paramref name="timestep"/>. At the start it is the begin index when one is set and
    /// the timestep is there; otherwise a timestep that occurs twice gets its second position (diffusers' rule).
    /// </summary>
    /// <param name="timestep">The timestep as given (float32 comparison).</param>
    /// <param name="schedule">The inference timesteps, float32.</param>
    /// <param name="jumped">True when the cursor was already placed and the timestep was not the expected one.</param>
    public int Locate(double timestep, float[] schedule, out bool jumped)
    {
        float t = (float)timestep;
        jumped = false;
        if (Index is int expected && expected < schedule.Length && schedule[expected] == t)
        {
            return expected;
        }

        if (Index is null && BeginIndex is int begin && begin < schedule.Length && schedule[begin] == t)
        {
            Index = begin;
            return begin;
        }

        var matches = new List<int>(2);
        for (int i = 0; i < schedule.Length && matches.Count < 2; i++)
        {
            if (schedule[i] == t)
            {
                matches.Add(i);
            }
        }

        if (matches.Count == 0)
        {
            throw SchedulerGuard.NotInSchedule(timestep, schedule.Length);
        }

        jumped = Index is not null;
        Index = matches.Count > 1 && !jumped ? matches[1] : matches[0];
        return Index.Value;
    }

    /// <summary>
    /// Each of <paramref name="timesteps"/>' index in <paramref name="schedule"/> for AddNoise: with a begin index set
    /// (image-to-image), the current step or the begin index where the timestep is there (diffusers uses them without
    /// looking at the values); otherwise diffusers' index_for_timestep (the second match if repeated).
    /// </summary>
    /// <exception cref="ArgumentException">A timestep is not in the schedule.</exception>
    public int[] NoiseIndices(Tensor timesteps, float[] schedule)
    {
        int[] byValue = ScheduleIndices(timesteps, schedule);
        if (BeginIndex is not int begin)
        {
            return byValue;
        }

        int at = Index ?? begin;
        return byValue.Select(i => at < schedule.Length && schedule[at] == schedule[i] ? at : i).ToArray();
    }

    /// <summary>Each of <paramref name="timesteps"/>' index in <paramref name="schedule"/> (diffusers' index_for_timestep: the second match if repeated).</summary>
    /// <exception cref="ArgumentException">A timestep is not in the schedule.</exception>
    public static int[] ScheduleIndices(Tensor timesteps, float[] schedule)
    {
        return SchedulerGuard.Values(timesteps).Select(t =>
        {
            int[] matches = Enumerable.Range(0, schedule.Length).Where(i => schedule[i] == (float)t).Take(2).ToArray();
            return matches.Length switch
            {
                0 => throw SchedulerGuard.NotInSchedule(t, schedule.Length, nameof(timesteps)),
                1 => matches[0],
                _ => matches[1],
            };
        }).ToArray();
    }
}
