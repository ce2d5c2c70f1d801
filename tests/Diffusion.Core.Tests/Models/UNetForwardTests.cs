using Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models;

/// <summary>Input validation, timestep forms, dtypes, devices and memory of <see cref="UNet.forward"/>.</summary>
public sealed class UNetForwardTests
{
    private static UNet Tiny(int inChannels = 3) =>
        new(new UNetOptions { InChannels = inChannels, HiddenDims = [8, 16, 24], ImageSize = 8 });

    [Theory]
    [InlineData(new long[] { 2, 3, 8 }, "sample must be [N,3,H,W] with N >= 1; got [2,3,8].")]
    [InlineData(new long[] { 2, 4, 8, 8 }, "sample must be [N,3,H,W] with N >= 1; got [2,4,8,8].")]
    [InlineData(new long[] { 2, 3, 7, 8 }, "sample height and width must be positive multiples of 2 (the U-Net halves them 1 times); got [2,3,7,8].")]
    [InlineData(new long[] { 2, 3, 8, 5 }, "sample height and width must be positive multiples of 2 (the U-Net halves them 1 times); got [2,3,8,5].")]
    public void BadSampleShapesAreRejectedBeforeLibTorch(long[] shape, string message)
    {
        using var scope = NewDisposeScope();
        using UNet unet = Tiny();
        var e = Assert.Throws<ArgumentException>(() => unet.call(zeros(shape), tensor(new long[] { 1, 2 })));
        Assert.Equal(message + " (Parameter 'sample')", e.Message);
    }

    [Fact]
    public void BadDtypesAndTimestepsAreRejectedBeforeLibTorch()
    {
        using var scope = NewDisposeScope();
        using UNet unet = Tiny();
        Tensor sample = zeros(2, 3, 8, 8);

        var dtype = Assert.Throws<ArgumentException>(() => unet.call(sample.to(ScalarType.BFloat16), tensor(1L)));
        Assert.StartsWith("sample must have the weights' dtype Float32 (cast the model with to(ScalarType.BFloat16) for bfloat16); got BFloat16.", dtype.Message, StringComparison.Ordinal);

        var length = Assert.Throws<ArgumentException>(() => unet.call(sample, tensor(new long[] { 1, 2, 3 })));
        Assert.Equal("timesteps must be a single value or a vector [2] (one per sample); got [3]. (Parameter 'timesteps')", length.Message);

        var matrix = Assert.Throws<ArgumentException>(() => unet.call(sample, zeros(2, 1, dtype: int64)));
        Assert.StartsWith("timesteps must be a single value or a vector [2] (one per sample); got [2,1].", matrix.Message, StringComparison.Ordinal);

        var boolean = Assert.Throws<ArgumentException>(() => unet.call(sample, tensor(true)));
        Assert.StartsWith("timesteps must be an integer (or floating) tensor; got Bool.", boolean.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AcceptsAnySideThatIsAMultipleOfTheDownsamplingFactor()
    {
        using var scope = NewDisposeScope();
        using UNet unet = Tiny(inChannels: 1);
        using var _ = no_grad();
        Tensor output = unet.call(randn(1, 1, 12, 6), tensor(new long[] { 5 }));
        Assert.Equal([1L, 3, 12, 6], output.shape);
        Assert.Equal(ScalarType.Float32, output.dtype);
    }

    [Fact]
    public void BFloat16OutputIsCloseToFloat32Output()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        using UNet unet = Tiny();
        unet.eval();
        Tensor sample = randn(2, 3, 8, 8);
        Tensor t = tensor(new long[] { 10, 900 });
        using var _ = no_grad();
        Tensor reference = unet.call(sample, t);

        unet.to(ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, unet.DType);
        Tensor output = unet.call(sample.to(ScalarType.BFloat16), t);
        Assert.Equal(ScalarType.BFloat16, output.dtype);

        // bfloat16 keeps 8 significant bits: each rounding is off by up to 2^-9 = 0.2% relative, weights
        // and activations alike. Over ~30 layers the errors add up roughly like a random walk, to a
        // relative L2 error of about 1% (measured 1.0% here, 1.2% on the parity model). 5% allows for
        // other kernels without passing a broken cast (which gives errors of order 100%).
        Tensor difference = output.to(ScalarType.Float32) - reference;
        double relative = (difference.norm() / reference.norm()).item<float>();
        Assert.True(relative < 0.05, $"relative L2 error of bfloat16 vs float32: {relative:P2}");
    }

    [Fact]
    public void ForwardLeavesNoLiveTensorsBehind()
    {
        using UNet unet = Tiny();
        using Tensor sample = randn(2, 3, 8, 8);
        using Tensor t = tensor(new long[] { 3, 4 });
        using var _ = no_grad();
        unet.call(sample, t).Dispose(); // warm-up: lazily created tensors
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 5; i++)
        {
            unet.call(sample, t).Dispose();
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void TrainingStepProducesGradientsForEveryParameter()
    {
        using var scope = NewDisposeScope();
        using UNet unet = Tiny();
        unet.train();
        Tensor loss = unet.call(randn(2, 3, 8, 8), tensor(new long[] { 1, 999 })).abs().mean();
        loss.backward();
        string[] withoutGrad = unet.named_parameters().Where(p => p.parameter.grad is null).Select(p => p.name).ToArray();
        Assert.Empty(withoutGrad);
    }

    [SkippableFact]
    public void RunsOnCudaWhenPresent()
    {
        Skip.IfNot(cuda.is_available(), "no CUDA device (CI and tests run on CPU; this checks device moves where a GPU exists)");
        using var scope = NewDisposeScope();
        using UNet unet = Tiny();
        Tensor sample = randn(2, 3, 8, 8);
        Tensor t = tensor(new long[] { 3, 4 });
        using var _ = no_grad();
        Tensor onCpu = unet.call(sample, t);
        unet.to(CUDA);
        Assert.Equal(DeviceType.CUDA, unet.Device.type);
        var wrongDevice = Assert.Throws<ArgumentException>(() => unet.call(sample, t));
        Assert.StartsWith("sample must be on the weights' device cuda", wrongDevice.Message, StringComparison.Ordinal);
        Tensor onGpu = unet.call(sample.to(CUDA), t); // timesteps may stay on the CPU
        Assert.True(onGpu.cpu().allclose(onCpu, rtol: 1e-3, atol: 1e-4), "CUDA output differs from CPU output");
    }
}
