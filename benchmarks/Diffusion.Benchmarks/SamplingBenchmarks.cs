using BenchmarkDotNet.Attributes;
using Diffusion.Benchmarks.Reporting;
using Diffusion.Benchmarks.Workloads;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks;

/// <summary>
/// Sampling with the small U-Net ([32, 64, 128, 256] at 32×32, batch 8) and the book's DDIM sampler: the bare
/// U-Net forward, one sampling step (forward + scheduler step), a 50-step sample through
/// <see cref="DiffusionPipeline"/>, and the scheduler's Step alone. Sampling overhead = one step − forward
/// (measured more precisely, in one run, by <c>compare --mode sample</c>).
/// </summary>
[MemoryDiagnoser]
public class SamplingBenchmarks
{
    private const int Steps = 50;
    private UNet unet = null!;
    private DdimScheduler scheduler = null!;
    private DiffusionPipeline pipeline = null!;
    private Tensor sample = null!;
    private Tensor timestep = null!;
    private Tensor modelOutput = null!;
    private string method = "";

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkEnvironment.ResetPeakRss();
        UNetShape shape = UNetShape.Of(UNetConfig.Small);
        manual_seed(0);
        unet = new UNet(new UNetOptions { HiddenDims = shape.HiddenDims, ImageSize = shape.ImageSize }, BenchmarkEnvironment.Device);
        unet.eval();
        scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
        scheduler.SetTimesteps(Steps);
        pipeline = new DiffusionPipeline(unet, scheduler);
        sample = randn(shape.Batch, 3, shape.ImageSize, shape.ImageSize).to(BenchmarkEnvironment.Device);
        modelOutput = randn(shape.Batch, 3, shape.ImageSize, shape.ImageSize).to(BenchmarkEnvironment.Device);
        timestep = tensor(500L);
        CaseRecords.SetImages(this, nameof(UNetForward), shape.Batch);
        CaseRecords.SetImages(this, nameof(SamplingStep), shape.Batch);
        CaseRecords.SetImages(this, nameof(Sample50Steps), shape.Batch);
        CaseRecords.SetImages(this, nameof(SchedulerStep), shape.Batch);
    }

    /// <summary>The U-Net alone, as in a sampling step (no_grad).</summary>
    [Benchmark(Baseline = true)]
    public void UNetForward()
    {
        method = nameof(UNetForward);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        unet.call(sample, timestep);
        BenchmarkEnvironment.Synchronize();
    }

    /// <summary>One DDIM step as the pipeline takes it: forward, then the scheduler's update.</summary>
    [Benchmark]
    public void SamplingStep()
    {
        method = nameof(SamplingStep);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor prediction = unet.call(scheduler.ScaleModelInput(sample, timestep), timestep);
        scheduler.Step(prediction, timestep, sample);
        BenchmarkEnvironment.Synchronize();
    }

    /// <summary>A whole 50-step DDIM sample of 8 images (images/s counts finished images).</summary>
    [Benchmark]
    public void Sample50Steps()
    {
        method = nameof(Sample50Steps);
        pipeline.Generate(8, inferenceSteps: Steps, seed: 1).Dispose();
        scheduler.SetTimesteps(Steps);
    }

    /// <summary>The scheduler's Step alone on a [8, 3, 32, 32] sample: the per-call overhead outside the U-Net.</summary>
    [Benchmark]
    public void SchedulerStep()
    {
        method = nameof(SchedulerStep);
        using var scope = NewDisposeScope();
        scheduler.Step(modelOutput, timestep, sample);
        BenchmarkEnvironment.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (method.Length > 0)
        {
            CaseRecords.RecordMemory(this, method);
        }

        sample.Dispose();
        modelOutput.Dispose();
        timestep.Dispose();
        scheduler.Dispose();
        unet.Dispose();
    }
}
