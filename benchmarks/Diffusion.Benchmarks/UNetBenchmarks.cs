using BenchmarkDotNet.Attributes;
using Diffusion.Benchmarks.Workloads;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks;

/// <summary>
/// The book's U-Net: a forward pass (no_grad) and a training step (forward + L1 loss + backward + AdamW, the
/// Trainer's own step with EMA and clipping off) at the three shapes of <see cref="UNetConfig"/>, float32 and
/// bfloat16. Images/s is the batch divided by the mean time.
/// </summary>
[MemoryDiagnoser]
public class UNetBenchmarks : WorkloadBenchmarks
{
    /// <summary>The shape: book, medium or small.</summary>
    [Params(UNetConfig.Book, UNetConfig.Medium, UNetConfig.Small)]
    public UNetConfig Config { get; set; }

    /// <summary>The weights' and activations' element type.</summary>
    [Params(ScalarType.Float32, ScalarType.BFloat16)]
    public ScalarType DType { get; set; }

    private protected override UNetWorkload CreateWorkload(bool training) => new(UNetShape.Of(Config), DType, training);
}
