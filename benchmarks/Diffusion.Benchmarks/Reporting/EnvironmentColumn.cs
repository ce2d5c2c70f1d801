using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Diffusion.Benchmarks.Reporting;

/// <summary>A column with one value for the whole run: the device or the libtorch thread count.</summary>
internal sealed class EnvironmentColumn(string name, Func<string> value) : IColumn
{
    public string Id => nameof(EnvironmentColumn) + name;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Job;

    public int PriorityInCategory => 100;

    public bool IsNumeric => false;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => name == "Device" ? "Where libtorch ran (cuda when TorchSharp finds a GPU)" : "libtorch intra-op threads";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => value();

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => value();

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}
