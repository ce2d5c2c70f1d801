using BenchmarkDotNet.Attributes;
using Diffusion.Benchmarks.Reporting;
using Diffusion.Benchmarks.Workloads;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks;

/// <summary>
/// The book's U-Net: a forward pass (no_grad) and a training step (forward + L1 loss + backward + AdamW, the
/// Trainer's own step with EMA and clipping off) at the three shapes of <see cref="UNetConfig"/>, float32 and
/// bfloat16. Images/s is the batch divided by the mean time.
/// </summary>
[MemoryDiagnoser]
public class UNetBenchmarks
{
    private UNetWorkload workload = null!;
    private string method = "";

    /// <summary>The shape: book, medium or small.</summary>
    [Params(UNetConfig.Book, UNetConfig.Medium, UNetConfig.Small)]
    public UNetConfig Config { get; set; }

    /// <summary>The weights' and activations' element type.</summary>
    [Params(ScalarType.Float32, ScalarType.BFloat16)]
    public ScalarType DType { get; set; }

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

    private void Setup(bool training)
    {
        BenchmarkEnvironment.ResetPeakRss();
        var shape = UNetShape.Of(Config);
        workload = new UNetWorkload(shape, DType, training);
        CaseRecords.SetImages(this, training ? nameof(TrainStep) : nameof(Forward), shape.Batch);
    }
}
