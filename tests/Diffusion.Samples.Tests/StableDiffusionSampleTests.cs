using Diffusion.IO;
using Diffusion.Samples.StableDiffusion;
using SkiaSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests;

public sealed class StableDiffusionSampleTests
{
    private static string Tiny => Path.Combine(TestEnvironment.ReferenceDir, "sd", "tiny");

    [Theory]
    [InlineData(new[] { "/no/such/sd", "--prompt", "x" }, "StableDiffusion: folder: no folder at '/no/such/sd'.")]
    [InlineData(new[] { ".", "--prompt", "x", "--size", "500" }, "StableDiffusion: --size must be a multiple of 8 (the VAE's factor); got 500.")]
    [InlineData(new[] { ".", "--prompt", "x", "--init-image", "/no/such/garden.png" }, "StableDiffusion: --init-image: no file at '/no/such/garden.png'.")]
    public void BadCommandLinesAreRejectedInOneLine(string[] args, string message)
    {
        var errors = new StringWriter();
        Assert.False(new StableDiffusionCommandLine().TryParse(args, out _, out int exitCode, errors));
        Assert.Equal(2, exitCode);
        Assert.Equal(message + " Run with --help for the options." + Environment.NewLine, errors.ToString());
    }

    [Fact]
    public void DrawsFromNoiseAndFromAnInitImage()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string first = Path.Combine(dir.Path, "tulip.png");
        (int code, string log) = SampleProcess.RunCombined("StableDiffusion.dll",
            [Tiny, "--prompt", "a red tulip in a garden", "--steps", "3", "--output", first, "--threads", "1"]);
        Assert.True(code == 0, log);
        Assert.Contains("Text to image: 64×64", log, StringComparison.Ordinal);
        using (SKBitmap bitmap = SKBitmap.Decode(first))
        {
            Assert.Equal(2 + 64 + 2, bitmap.Width); // one 64-pixel image with the grid's 2-pixel padding
        }

        string init = Path.Combine(dir.Path, "init.png");
        using (Tensor gray = full(3, 64, 64, 0.5f))
        {
            TensorImage.SavePng(gray, init);
        }

        string second = Path.Combine(dir.Path, "painted.png");
        (code, log) = SampleProcess.RunCombined("StableDiffusion.dll",
            [Tiny, "--prompt", "a red tulip", "--init-image", init, "--strength", "0.5", "--steps", "4", "--output", second, "--threads", "1"]);
        Assert.True(code == 0, log);
        Assert.Contains("Image to image: 64×64, strength 0.5", log, StringComparison.Ordinal);
        Assert.True(File.Exists(second));
    }
}
