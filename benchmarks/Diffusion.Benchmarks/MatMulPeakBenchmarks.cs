using BenchmarkDotNet.Attributes;
using Diffusion.Benchmarks.Reporting;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks;

/// <summary>The machine's matrix-multiply speed (2·n³ FLOPs per product): the peak that U-Net figures are compared with.</summary>
[MemoryDiagnoser]
public class MatMulPeakBenchmarks
{
    private Tensor a = null!;
    private Tensor b = null!;

    /// <summary>Square matrix size.</summary>
    [Params(2048)]
    public int Size { get; set; }

    /// <summary>libtorch intra-op threads for this benchmark (restored afterwards).</summary>
    [Params(1, 2)]
    public int IntraOpThreads { get; set; }

    /// <summary>Element type (bfloat16 uses AMX/AVX-512 BF16 where the CPU has them).</summary>
    [Params(ScalarType.Float32, ScalarType.BFloat16)]
    public ScalarType DType { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkEnvironment.ResetPeakRss();
        torch.set_num_threads(IntraOpThreads);
        manual_seed(0);
        a = randn(Size, Size).to(BenchmarkEnvironment.Device).to(DType);
        b = randn(Size, Size).to(BenchmarkEnvironment.Device).to(DType);
    }

    /// <summary>One matrix product. GFLOP/s = 2·Size³ / mean.</summary>
    [Benchmark]
    public void MatMul()
    {
        using var scope = NewDisposeScope();
        mm(a, b);
        BenchmarkEnvironment.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        CaseRecords.RecordMemory(this, nameof(MatMul));
        a.Dispose();
        b.Dispose();
        torch.set_num_threads(BenchmarkEnvironment.Threads);
    }
}
