using Diffusion.Runtime;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Diffusion.Tests.Runtime;

/// <summary>
/// After <see cref="TorchRuntime.EnsureAvailable"/>, float32 convolutions equal float64 ones for every input channel
/// count, including those that are not a multiple of oneDNN's vector block (8 or 16): on an AMD EPYC VM (family 26)
/// libtorch 2.10's oneDNN got exactly those wrong until the runtime check turned it off.
/// </summary>
public sealed class CpuConvolutionTests(ITestOutputHelper output)
{
    [Fact]
    public void Float32ConvolutionsMatchFloat64ForEveryChannelCount()
    {
        TorchRuntime.EnsureAvailable();
        output.WriteLine(TorchRuntime.CpuWorkaround ?? "no CPU workaround needed on this machine");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var failures = new List<string>();
        for (int channels = 1; channels <= 40; channels++)
        {
            using var step = NewDisposeScope();
            // Deterministic values in [-1, 1]; no generator involved.
            Tensor x = arange(2 * channels * 64, float64).mul(0.29).sin().reshape(2, channels, 8, 8);
            Tensor w = arange(8 * channels * 9, float64).mul(0.53).cos().reshape(8, channels, 3, 3);
            Tensor expected = nn.functional.conv2d(x, w, padding: [1, 1]);
            Tensor actual = nn.functional.conv2d(x.to(float32), w.to(float32), padding: [1, 1]).to(float64);
            // Each output sums 9·channels ≤ 360 products of magnitude ≤ 1: float32 accumulation errs by at most
            // 360 · 2⁻²⁴ · Σ|xw| ≈ 2e-5 · Σ|xw| on any kernel order; 1e-3 · (1 + Σ|xw|) leaves 50× room, while the
            // broken kernels were off by O(1) or NaN.
            Tensor bound = nn.functional.conv2d(x.abs(), w.abs(), padding: [1, 1]).add(1).mul(1e-3);
            if (!(actual - expected).abs().le(bound).all().item<bool>())
            {
                failures.Add($"{channels} channels: max error {(actual - expected).abs().max().item<double>():E2}");
            }
        }

        Assert.True(failures.Count == 0, "float32 3×3 convolutions differ from float64: " + string.Join("; ", failures));
    }
}
