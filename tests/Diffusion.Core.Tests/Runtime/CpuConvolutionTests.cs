using Diffusion.Runtime;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Diffusion.Tests.Runtime;

/// <summary>
/// After <see cref="TorchRuntime.EnsureAvailable"/>, float32 convolutions equal float64 ones for every input channel
/// count, including those that are not a multiple of oneDNN's vector block (8 or 16): on an AMD EPYC VM (family 26)
/// libtorch 2.10's oneDNN got exactly those wrong until the runtime check turned it off; likewise the input gradients.
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

    [Fact]
    public void Float32InputGradientsMatchFloat64ForEveryChannelCountAndStride()
    {
        // With oneDNN left on, the AMD EPYC VM also got the input gradient wrong: for 3×3 convolutions whose output channel
        // count is not a multiple of 16, and for strided ones (3×3 stride 2, CLIP's 4×4 stride 4 patch embedding) at some
        // input channel counts, 48 among them. After the runtime check every one must equal float64 autograd.
        TorchRuntime.EnsureAvailable();
        using var scope = NewDisposeScope();
        var failures = new List<string>();
        foreach ((int kernel, int stride, int padding) in new[] { (3, 1, 1), (3, 2, 1), (4, 4, 0) })
        {
            foreach ((int inputs, int outputs) in new[] { (16, 3), (16, 4), (16, 20), (32, 8), (3, 16), (20, 32), (48, 16), (1, 16), (24, 3) })
            {
                using var step = NewDisposeScope();
                Tensor x = arange(2 * inputs * 256, float64).mul(0.29).sin().reshape(2, inputs, 16, 16);
                Tensor w = arange(outputs * inputs * kernel * kernel, float64).mul(0.53).cos().reshape(outputs, inputs, kernel, kernel);
                long side = ((16 + (2 * padding) - kernel) / stride) + 1;
                Tensor g = arange(2 * outputs * side * side, float64).mul(0.17).cos().reshape(2, outputs, side, side);
                Tensor expected = InputGradient(x, w, g, stride, padding);
                Tensor actual = InputGradient(x.to(float32), w.to(float32), g.to(float32), stride, padding).to(float64);
                // Each element sums at most outputs · kernel² ≤ 512 products of magnitude ≤ 1: float32 errs by at most
                // 512 · 2⁻²⁴ · Σ|g·w| ≈ 3e-5 · Σ|g·w|; 1e-3 · (1 + Σ|g·w|) leaves 30× room, the broken kernels were off by O(1).
                Tensor bound = InputGradient(x, w.abs(), g.abs(), stride, padding).add(1).mul(1e-3);
                if (!(actual - expected).abs().le(bound).all().item<bool>())
                {
                    failures.Add($"{kernel}×{kernel} stride {stride}, {inputs} → {outputs} channels: max error {(actual - expected).abs().max().item<double>():E2}");
                }
            }
        }

        Assert.True(failures.Count == 0, "float32 convolution input gradients differ from float64: " + string.Join("; ", failures));
    }

    private static Tensor InputGradient(Tensor x, Tensor w, Tensor upstream, int stride, int padding)
    {
        Tensor input = x.detach().clone().requires_grad_(true);
        using (enable_grad())
        {
            nn.functional.conv2d(input, w, strides: [stride, stride], padding: [padding, padding]).mul(upstream).sum().backward();
        }

        return input.grad!.detach().clone();
    }
}
