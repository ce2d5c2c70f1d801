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

    /// <summary>The cases: the reduced U-Net in float32 and bfloat16, SD 1.5 in float32 (in bfloat16 it takes minutes a
    /// step on CPUs without AMX, where libtorch has no fast bfloat16 convolution once oneDNN is off).</summary>
    public static IEnumerable<string> Cases => ["reduced-Float32", "reduced-BFloat16", "sd15-Float32"];

    /// <summary>Which U-Net and dtype: "reduced" (57.4 M parameters, 32×32 latents) or "sd15" (859.5 M, 64×64).</summary>
    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "reduced-Float32";

    /// <summary>Builds the model with seeded weights.</summary>
    [GlobalSetup]
    public void Setup()
    {
        BenchmarkEnvironment.ResetPeakRss();
        string[] parts = Case.Split('-');
        ScalarType dtype = Enum.Parse<ScalarType>(parts[1]);
        workload = parts[0] == "sd15"
            ? UNetWorkload.ForUNet2DCondition(2, dtype, UNet2DConditionShapes.StableDiffusion15, 64)
            : UNetWorkload.ForUNet2DCondition(2, dtype, UNet2DConditionShapes.Reduced, 32);
        Console.WriteLine($"# {Case}: {workload.Model.parameters().Sum(p => p.numel())} parameters");
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
