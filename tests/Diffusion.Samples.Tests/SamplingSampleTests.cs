using Diffusion.Samples.Sampling;
using SkiaSharp;

namespace Diffusion.Tests;

public sealed class SamplingSampleTests
{
    [Theory]
    [InlineData(new[] { "--scheduler", "karras" }, "Sampling: Argument 'karras' not recognized. Must be one of: 'ddim-book' 'ddim' 'ddpm' 'euler' 'dpm++' 'euler-a' 'pndm' 'lms' 'heun' 'unipc' 'all'.")]
    [InlineData(new[] { "--sampling-steps", "0" }, "Sampling: --sampling-steps must be between 1 and 1000; got 0.")]
    [InlineData(new[] { "--count", "x" }, "Sampling: Cannot parse argument 'x' for option '--count' as expected type 'System.Int32'.")]
    [InlineData(new[] { "--weights" }, "Sampling: Required argument missing for option: '--weights'.")]
    [InlineData(new[] { "--weights", "/no/such.safetensors" }, "Sampling: --weights: no file or folder at '/no/such.safetensors'. Run the Flowers sample first, or pass --weights.")]
    [InlineData(new string[0], "Sampling: --weights: no file or folder at 'output/flowers/unet-ema'. Run the Flowers sample first, or pass --weights.")] // the default, when nothing else is wrong
    [InlineData(new[] { "--steps", "3" }, "Sampling: Unrecognized command or argument '--steps'. Unrecognized command or argument '3'.")]
    public void BadCommandLinesAreRejectedInOneLine(string[] args, string message)
    {
        var errors = new StringWriter();
        Assert.False(new SamplingCommandLine().TryParse(args, out _, out int exitCode, errors));
        Assert.Equal(2, exitCode);
        Assert.Equal(message + " Run with --help for the options." + Environment.NewLine, errors.ToString());
    }

    [Fact]
    public void SamplesEverySchedulerFromTheFlowersWeights()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string output = Path.Combine(dir.Path, "flowers");
        (int code, string log) = FlowersSampleTests.Run("Flowers.dll",
            ["--steps", "1", "--image-size", "16", "--model-dims", "16,32,32", "--batch-size", "4", "--dataset-size", "8", "--count", "1", "--output", output]);
        Assert.True(code == 0, log);

        string grid = Path.Combine(dir.Path, "grid.png");
        (code, log) = FlowersSampleTests.Run("Sampling.dll",
            ["--weights", Path.Combine(output, "unet-ema"), "--scheduler", "all", "--sampling-steps", "4", "--count", "2", "--output", grid]);
        Assert.True(code == 0, log);
        using SKBitmap bitmap = SKBitmap.Decode(grid);
        int scale = 96 / 16;
        Assert.Equal(scale * (2 + (10 * (16 + 2))), bitmap.Height); // ten rows, one per scheduler

        // The run's trainer checkpoint records the model's config: it samples as it is, options unknown to the sample.
        string checkpoint = Directory.GetFiles(Path.Combine(output, "checkpoints"), "checkpoint-*.safetensors").Single();
        (code, log) = FlowersSampleTests.Run("Sampling.dll",
            ["--weights", checkpoint, "--scheduler", "ddim", "--sampling-steps", "2", "--count", "1", "--output", grid]);
        Assert.True(code == 0, log);
    }
}
