using BenchmarkDotNet.Attributes;
using Diffusion.Benchmarks.Reporting;
using Diffusion.Benchmarks.Workloads;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks;

/// <summary>
/// diffusers' <c>UNet2DConditionModel</c> (<see cref="Diffusion.Models.UNet2DConditionModel"/>), one forward pass
/// (no_grad) with 77 text tokens: at <see cref="UNet2DConditionShapes.Reduced"/> on 32×32 latents, batch 2 (the shape
/// benchmarks/compare.sh --model unet2dcond times against diffusers in PyTorch), and at Stable Diffusion 1.5's real
/// configuration on 64×64 latents (a 512×512 image), batch 2 (one guided step: conditional and unconditional
/// halves), random weights. Peak resident memory is in the results' case records.
/// </summary>
[MemoryDiagnoser]
public class UNet2DConditionBenchmarks
{
    private UNetWorkload workload = null!;

    /// <summary>Which U-Net: "reduced" (58 M parameters, 32×32 latents) or "sd15" (859.5 M, 64×64).</summary>
    [Params("reduced", "sd15")]
    public string Model { get; set; } = "reduced";

    /// <summary>The weights' and activations' element type.</summary>
    [Params(ScalarType.Float32, ScalarType.BFloat16)]
    public ScalarType DType { get; set; }

    /// <summary>Builds the model with seeded weights.</summary>
    [GlobalSetup]
    public void Setup()
    {
        BenchmarkEnvironment.ResetPeakRss();
        workload = Model == "sd15"
            ? UNetWorkload.ForUNet2DCondition(2, DType, UNet2DConditionShapes.StableDiffusion15, 64)
            : UNetWorkload.ForUNet2DCondition(2, DType, UNet2DConditionShapes.Reduced, 32);
        CaseRecords.SetImages(this, nameof(Forward), workload.Shape.Batch);
    }

    /// <summary>One forward pass of a batch of 2.</summary>
    [Benchmark]
    public void Forward() => workload.Forward();

    /// <summary>Records the peak memory and frees the model.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        CaseRecords.RecordMemory(this, nameof(Forward));
        workload.Dispose();
    }
}
