using Diffusion.Samples.Sampling;
using SkiaSharp;

namespace Diffusion.Tests;

public sealed class SamplingSampleTests
{
    [Theory]
    [InlineData(new[] { "--scheduler", "heun" }, "--scheduler must be one of ddim-book, ddim, ddpm, euler, dpm++ or all; got 'heun'.")]
    [InlineData(new[] { "--steps", "0" }, "--steps must be a whole number from 1 to 1000; got '0'.")]
    [InlineData(new[] { "--count", "x" }, "--count must be a whole number from 1 to 64; got 'x'.")]
    [InlineData(new[] { "--weights" }, "--weights needs a value.")]
    public void BadCommandLinesAreRejectedWithAClearMessage(string[] args, string message)
    {
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => SamplingOptions.Parse(args)).Message);
    }

    [Fact]
    public void SamplesEverySchedulerFromTheFlowersWeights()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string output = Path.Combine(dir.Path, "flowers");
        (int code, string log) = FlowersSampleTests.Run("Flowers.dll",
            ["--steps", "1", "--image-size", "16", "--model-dims", "16,32,32", "--batch-size", "4", "--dataset-size", "8", "--samples", "1", "--output", output]);
        Assert.True(code == 0, log);

        string grid = Path.Combine(dir.Path, "grid.png");
        (code, log) = FlowersSampleTests.Run("Sampling.dll",
            ["--weights", Path.Combine(output, "unet-ema.safetensors"), "--scheduler", "all", "--steps", "3", "--count", "2", "--output", grid]);
        Assert.True(code == 0, log);
        using SKBitmap bitmap = SKBitmap.Decode(grid);
        int scale = 96 / 16;
        Assert.Equal(scale * (2 + (5 * (16 + 2))), bitmap.Height); // five rows, one per scheduler
    }
}
