using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks;

/// <summary>The machine's float32 matrix-multiply speed: the peak that U-Net figures are compared with.</summary>
[MemoryDiagnoser]
public class MatMulPeakBenchmarks
{
    private Tensor a = null!;
    private Tensor b = null!;

    /// <summary>Square matrix size.</summary>
    [Params(1024)]
    public int Size { get; set; }

    /// <summary>libtorch intra-op threads.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(Threads);
        manual_seed(0);
        a = randn(Size, Size);
        b = randn(Size, Size);
    }

    /// <summary>One matrix product: 2·n³ floating-point operations.</summary>
    [Benchmark]
    public float MatMul()
    {
        using var scope = NewDisposeScope();
        return matmul(a, b)[0, 0].item<float>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        a.Dispose();
        b.Dispose();
    }
}
