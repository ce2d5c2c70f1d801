using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;

namespace Diffusion.Benchmarks.Reporting;

/// <summary>
/// Per-case figures that BenchmarkDotNet does not measure itself (images per operation, native memory),
/// written by the benchmarks and read by the columns. Works because the toolchain is in-process.
/// </summary>
internal static class CaseRecords
{
    private static readonly ConcurrentDictionary<string, double> ImagesPerOperation = new();
    private static readonly ConcurrentDictionary<string, (double Peak, double After)> Memory = new();

    /// <summary>Says how many images one call of <paramref name="method"/> processes with the benchmark's current parameters.</summary>
    public static void SetImages(object benchmark, string method, double images) => ImagesPerOperation[Key(benchmark, method)] = images;

    /// <summary>Records the process's peak RSS since the case began and its RSS now (call from GlobalCleanup).</summary>
    public static void RecordMemory(object benchmark, string method) =>
        Memory[Key(benchmark, method)] = (BenchmarkEnvironment.PeakRssMiB(), BenchmarkEnvironment.RssMiB());

    public static double? Images(BenchmarkCase c) => ImagesPerOperation.TryGetValue(Key(c), out double v) ? v : null;

    public static (double Peak, double After)? MemoryOf(BenchmarkCase c) => Memory.TryGetValue(Key(c), out var v) ? v : null;

    private static string Key(object benchmark, string method)
    {
        // The in-process toolchain runs a generated subclass; name the benchmark class itself.
        Type type = benchmark.GetType();
        while (type.BaseType is { } parent && type.Assembly != typeof(CaseRecords).Assembly)
        {
            type = parent;
        }

        IEnumerable<string> values = type
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttributes().Any(a => a is ParamsAttribute or ParamsAllValuesAttribute or ParamsSourceAttribute))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => $"{p.Name}={Convert.ToString(p.GetValue(benchmark), CultureInfo.InvariantCulture)}");
        return $"{type.Name}.{method}({string.Join(",", values)})";
    }

    private static string Key(BenchmarkCase c)
    {
        IEnumerable<string> values = c.Parameters.Items
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => $"{p.Name}={Convert.ToString(p.Value, CultureInfo.InvariantCulture)}");
        return $"{c.Descriptor.Type.Name}.{c.Descriptor.WorkloadMethod.Name}({string.Join(",", values)})";
    }
}
