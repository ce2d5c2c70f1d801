using BenchmarkDotNet.Attributes;
using Diffusion.Benchmarks.Reporting;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks;

/// <summary>
/// libtorch's CPU <c>scaled_dot_product_attention</c> at the book's full-resolution shape (one image, 4 heads,
/// 4,096 tokens of 32): with q/k/v contiguous as [N, heads, tokens, d] (what SelfAttention2d passes since
/// the layout fix) and as the strided views a 1×1-conv output gives ([N, heads, d, tokens] transposed).
/// The difference is the U-Net's largest optimisation (docs/performance.md).
/// </summary>
[MemoryDiagnoser]
public class AttentionBenchmarks
{
    private Tensor contiguousQkv = null!;
    private Tensor stridedQkv = null!;
    private string method = "";

    /// <summary>Element type.</summary>
    [Params(ScalarType.Float32, ScalarType.BFloat16)]
    public ScalarType DType { get; set; }

    /// <summary>Forward only (no_grad) or forward and backward.</summary>
    [Params(false, true)]
    public bool Backward { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkEnvironment.ResetPeakRss();
        manual_seed(0);
        contiguousQkv = randn([3, 1, 4, 4096, 32]).to(BenchmarkEnvironment.Device).to(DType).requires_grad_(Backward);
        stridedQkv = randn([3, 1, 4, 32, 4096]).to(BenchmarkEnvironment.Device).to(DType).requires_grad_(Backward);
        CaseRecords.SetImages(this, nameof(Contiguous), 1);
        CaseRecords.SetImages(this, nameof(Strided), 1);
    }

    /// <summary>q, k, v contiguous [1, 4, 4096, 32].</summary>
    [Benchmark(Baseline = true)]
    public void Contiguous() => Run(strided: false);

    /// <summary>q, k, v as transposed views of [1, 4, 32, 4096] (stride 4096 along d).</summary>
    [Benchmark]
    public void Strided() => Run(strided: true);

    [GlobalCleanup]
    public void Cleanup()
    {
        CaseRecords.RecordMemory(this, method);
        contiguousQkv.Dispose();
        stridedQkv.Dispose();
    }

    private void Run(bool strided)
    {
        method = strided ? nameof(Strided) : nameof(Contiguous);
        using var scope = NewDisposeScope();
        using var grad = torch.set_grad_enabled(Backward);
        Tensor qkv = strided ? stridedQkv.transpose(3, 4) : contiguousQkv.alias();
        Tensor output = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);
        if (Backward)
        {
            output.sum().backward();
        }

        BenchmarkEnvironment.Synchronize();
    }
}
