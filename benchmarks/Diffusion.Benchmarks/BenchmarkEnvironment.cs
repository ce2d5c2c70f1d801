using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Diffusion.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks;

/// <summary>What every benchmark runs with: device, libtorch threads, allocator setting; and how to read memory.</summary>
internal static class BenchmarkEnvironment
{
    private static bool initialised;

    /// <summary>libtorch intra-op threads (set once, at start-up).</summary>
    public static int Threads { get; private set; } = 1;

    /// <summary>True when glibc's malloc keeps freed memory (<see cref="GlibcAllocator.KeepFreedMemory"/>).</summary>
    public static bool KeepFreedMemory { get; private set; }

    /// <summary>CUDA when TorchSharp finds a GPU, else the CPU.</summary>
    public static Device Device { get; private set; } = CPU;

    /// <summary>"cpu" or "cuda:0".</summary>
    public static string DeviceName => Device.type == DeviceType.CUDA ? $"cuda:{Math.Max(0, Device.index)}" : "cpu";

    /// <summary>Sets threads and allocator before the first tensor; later calls do nothing.</summary>
    public static void Initialise(int threads, bool keepFreedMemory, bool allowCuda = true)
    {
        if (initialised)
        {
            return;
        }

        initialised = true;

        // mallopt must come before libtorch allocates its first large buffer (docs/performance.md).
        KeepFreedMemory = keepFreedMemory && GlibcAllocator.KeepFreedMemory();
        TorchRuntime.EnsureAvailable();
        Threads = threads;
        torch.set_num_threads(threads);
        torch.set_num_interop_threads(1);
        Device = allowCuda && cuda.is_available() ? CUDA : CPU;
    }

    /// <summary>Waits for queued GPU work, so that a stopwatch sees it; nothing on the CPU.</summary>
    public static void Synchronize()
    {
        if (Device.type == DeviceType.CUDA)
        {
            cuda.synchronize(Device);
        }
    }

    /// <summary>Current resident set size of this process in MiB (libtorch's CPU memory lives here).</summary>
    public static double RssMiB() => ReadStatusKiB("VmRSS:") / 1024.0;

    /// <summary>Peak resident set size since the last <see cref="ResetPeakRss"/> (or start), in MiB.</summary>
    public static double PeakRssMiB() => ReadStatusKiB("VmHWM:") / 1024.0;

    /// <summary>
    /// Gives freed memory back to the system (malloc_trim, even with <see cref="KeepFreedMemory"/>) and resets the
    /// kernel's peak-RSS mark (writing 5 to /proc/self/clear_refs), so the next peak belongs to the next case.
    /// </summary>
    public static void ResetPeakRss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        try
        {
            if (OperatingSystem.IsLinux())
            {
                malloc_trim(0);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc.
        }

        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or not allowed: the peak then covers the whole process.
        }
    }

    /// <summary>A one-line description: device, threads, allocator, libtorch, runtime, load.</summary>
    public static string Describe() =>
        $"device {DeviceName}, {Threads} libtorch thread(s), interop 1, malloc keep-freed {(KeepFreedMemory ? "on" : "off")}, " +
        $"TorchSharp {typeof(torch).Assembly.GetName().Version}, .NET {Environment.Version}, {Environment.ProcessorCount} cores, load {LoadAverage()}";

    /// <summary>The first three fields of /proc/loadavg, or "n/a".</summary>
    public static string LoadAverage()
    {
        try
        {
            string[] parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return string.Join(' ', parts.Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    /// <summary>Median of a list of numbers.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        Debug.Assert(values.Count > 0, "median of nothing");
        double[] sorted = [.. values.Order()];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int malloc_trim(nuint pad);

    private static long ReadStatusKiB(string field)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    string digits = new([.. line[field.Length..].Where(char.IsDigit)]);
                    return long.Parse(digits, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }
}
