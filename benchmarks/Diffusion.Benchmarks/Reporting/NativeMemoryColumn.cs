using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Diffusion.Benchmarks.Reporting;

/// <summary>
/// libtorch's memory, which [MemoryDiagnoser] does not see: on the CPU the process's peak resident set
/// during the case (VmHWM, reset at the case's start). TorchSharp 0.107 exposes no CUDA allocator
/// statistics, so on a GPU this is host memory only.
/// </summary>
internal sealed class NativeMemoryColumn : IColumn
{
    public string Id => nameof(NativeMemoryColumn);

    public string ColumnName => "Peak RSS";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 1;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Peak resident set size of the process during the case (libtorch CPU memory included), MiB";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        CaseRecords.MemoryOf(benchmarkCase) is { } m ? m.Peak.ToString("N0", CultureInfo.InvariantCulture) + " MiB" : "-";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}
