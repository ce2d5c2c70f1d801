using BenchmarkDotNet.Attributes;
using Diffusion.Benchmarks.Workloads;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks;

/// <summary>
/// diffusers' <c>UNet2DModel</c> (<see cref="Diffusion.Models.UNet2DModel"/>) at google/ddpm-cifar10-32
/// (<see cref="UNet2DShapes.Cifar10"/>, 35.7 M parameters), batch 8 at 32×32: a forward pass (no_grad) and a
/// training step (the Trainer's own: DDPM noise, MSE, backward, AdamW; EMA and clipping off), float32.
/// benchmarks/compare.sh --model unet2d times the same two against diffusers in PyTorch.
/// </summary>
[MemoryDiagnoser]
public class UNet2DBenchmarks : WorkloadBenchmarks
{
    /// <summary>Images per call.</summary>
    [Params(8)]
    public int Batch { get; set; }

    private protected override UNetWorkload CreateWorkload(bool training) => UNetWorkload.ForUNet2D(Batch, ScalarType.Float32, training);
}
