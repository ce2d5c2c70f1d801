using BenchmarkDotNet.Attributes;
using Diffusion.Benchmarks.Reporting;
using Diffusion.Benchmarks.Workloads;

namespace Diffusion.Benchmarks;

/// <summary>
/// The two timed methods every U-Net benchmark class has: a forward pass (no_grad) and a training step of a
/// <see cref="UNetWorkload"/> that the derived class makes for its parameters.
/// </summary>
public abstract class WorkloadBenchmarks
{
    private UNetWorkload workload = null!;
    private string method = "";

    [GlobalSetup(Target = nameof(Forward))]
    public void SetupForward() => Setup(training: false);

    [GlobalSetup(Target = nameof(TrainStep))]
    public void SetupTraining() => Setup(training: true);

    /// <summary>One forward pass of a batch.</summary>
    [Benchmark]
    public void Forward()
    {
        method = nameof(Forward);
        workload.Forward();
    }

    /// <summary>One training step on a batch.</summary>
    [Benchmark]
    public double TrainStep()
    {
        method = nameof(TrainStep);
        return workload.TrainStep();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        CaseRecords.RecordMemory(this, method);
        workload.Dispose();
    }

    /// <summary>Makes the workload of the current parameters, for a training step or a forward pass.</summary>
    private protected abstract UNetWorkload CreateWorkload(bool training);

    private void Setup(bool training)
    {
        BenchmarkEnvironment.ResetPeakRss();
        workload = CreateWorkload(training);
        CaseRecords.SetImages(this, training ? nameof(TrainStep) : nameof(Forward), workload.Shape.Batch);
    }
}
