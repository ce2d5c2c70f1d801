using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Samples.Pretrained;
using Diffusion.Schedulers;
using SkiaSharp;

namespace Diffusion.Tests;

public sealed class PretrainedSampleTests
{
    [Theory]
    [InlineData(new[] { "/no/such/pipeline" }, "Pretrained: folder: no folder at '/no/such/pipeline'.")]
    [InlineData(new[] { ".", "--scheduler", "ddim-book" }, "Pretrained: Argument 'ddim-book' not recognized. Must be one of: 'saved' 'ddim' 'ddpm' 'euler' 'dpm++' 'euler-a' 'pndm' 'lms' 'heun' 'unipc'.")]
    public void BadCommandLinesAreRejectedInOneLine(string[] args, string message)
    {
        var errors = new StringWriter();
        Assert.False(new PretrainedCommandLine().TryParse(args, out _, out int exitCode, errors));
        Assert.Equal(2, exitCode);
        Assert.Equal(message + " Run with --help for the options." + Environment.NewLine, errors.ToString());
    }

    [Fact]
    public void NoFolderIsAUsageError()
    {
        var errors = new StringWriter();
        Assert.False(new PretrainedCommandLine().TryParse([], out _, out int exitCode, errors));
        Assert.Equal(2, exitCode);
        Assert.StartsWith("Pretrained: Required argument 'folder' missing", errors.ToString(), StringComparison.Ordinal); // then the host's name
    }

    [Fact]
    public void AMissingFolderPrintsOneLineAndExitsTwo()
    {
        (int code, string stdout, string stderr) = SampleProcess.Run("Pretrained.dll", ["/no/such/pipeline"]);
        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("'/no/such/pipeline'", Assert.Single(SampleProcess.Lines(stderr)), StringComparison.Ordinal);
    }

    [Fact]
    public void AFolderThatIsNoPipelineIsARuntimeFailureInOneLine()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        (int code, string stdout, string stderr) = SampleProcess.Run("Pretrained.dll", [dir.Path, "--threads", "1"]);
        Assert.True(code == 1, stdout + stderr);
        string line = Assert.Single(SampleProcess.Lines(stderr));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains("model_index.json", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("saved")]
    [InlineData("euler")]
    public void DrawsAGridFromASavedPipelineFolder(string scheduler)
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string folder = Path.Combine(dir.Path, "pipeline");
        TorchSharp.torch.manual_seed(3);
        using (var unet = new UNet2DModel(TinyUNet2DModel.Config with { SampleSize = 8 }))
        using (var ddim = new DdimScheduler())
        using (var pipeline = new DiffusionPipeline(unet, ddim, 3, 8))
        {
            pipeline.SavePretrained(folder);
        }

        string grid = Path.Combine(dir.Path, "grid.png");
        (int code, string log) = SampleProcess.RunCombined("Pretrained.dll",
            [folder, "--scheduler", scheduler, "--sampling-steps", "3", "--count", "3", "--output", grid, "--threads", "1"]);
        Assert.True(code == 0, log);
        Assert.Contains(scheduler == "saved" ? "DdimScheduler, 3 steps" : "EulerDiscreteScheduler, 3 steps", log, StringComparison.Ordinal);
        using SKBitmap bitmap = SKBitmap.Decode(grid);
        int scale = 64 / 8;
        Assert.Equal(scale * (2 + 8 + 2), bitmap.Height); // one row of three 8-pixel images, 2-pixel padding
    }
}
