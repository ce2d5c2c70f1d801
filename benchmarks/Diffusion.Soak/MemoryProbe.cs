using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace Diffusion.Soak;

/// <summary>Reads resident memory, the GC heap and the process-wide live tensor count.</summary>
internal sealed class MemoryProbe
{
    private readonly Stopwatch clock = Stopwatch.StartNew();

    public List<MemorySample> Samples { get; } = [];

    public void Record(string phase, long step) =>
        Samples.Add(new MemorySample(phase, step, clock.Elapsed.TotalSeconds, ResidentBytes(), GC.GetTotalMemory(forceFullCollection: false), Tensor.TotalCount));

    /// <summary>
    /// A reading after full collections and finalizers (phase name + "-settled"): without the managed heap's
    /// sawtooth (tens of MB of garbage between collections) and with tensors that were left to the GC finalized.
    /// </summary>
    public void RecordSettled(string phase, long step)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Record(phase + "-settled", step);
    }

    /// <summary>Resident pages × page size from /proc/self/statm (Linux), else Process.WorkingSet64.</summary>
    public static long ResidentBytes()
    {
        const string Statm = "/proc/self/statm";
        if (File.Exists(Statm))
        {
            string[] fields = File.ReadAllText(Statm).Split(' ');
            return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }

        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }
}
