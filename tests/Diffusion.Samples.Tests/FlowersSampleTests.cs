using System.Diagnostics;
using Diffusion.Samples.Flowers;
using SkiaSharp;

namespace Diffusion.Tests;

public sealed class FlowersSampleTests
{
    [Theory]
    [InlineData(new[] { "--minutes", "abc" }, "--minutes expects a number; got 'abc'.")]
    [InlineData(new[] { "--minutes", "0" }, "--minutes must be between 0.05 and 1440; got 0.")]
    [InlineData(new[] { "--image-size", "30" }, "--image-size must be a multiple of 8; got 30.")]
    [InlineData(new[] { "--image-size", "512" }, "--image-size must be between 16 and 128; got 512.")]
    [InlineData(new[] { "--model-dims", "32,60" }, "--model-dims widths must be multiples of 8 (GroupNorm uses 8 groups); got 60.")]
    [InlineData(new[] { "--model-dims", "32" }, "--model-dims expects at least two comma-separated widths such as 32,64,128,256; got '32'.")]
    [InlineData(new[] { "--batch-size", "2.5" }, "--batch-size expects a whole number; got '2.5'.")]
    [InlineData(new[] { "--device", "tpu" }, "--device must be 'cpu' or 'cuda'; got 'tpu'.")]
    [InlineData(new[] { "--data", "/no/such/folder" }, "--data: no file or folder at '/no/such/folder'.")]
    [InlineData(new[] { "--steps" }, "--steps needs a value.")]
    [InlineData(new[] { "--colour" }, "unknown option '--colour'. Run with --help for the list.")]
    [InlineData(new[] { "--dataset-size", "8", "--batch-size", "16" }, "--dataset-size (8) must be at least --batch-size (16).")]
    public void BadCommandLinesAreRejectedWithAClearMessage(string[] args, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => FlowersOptions.Parse(args));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void DefaultsAndFlagsParse()
    {
        FlowersOptions defaults = FlowersOptions.Parse([])!;
        Assert.Equal((10.0, 32, 32), (defaults.Minutes, defaults.ImageSize, defaults.BatchSize));
        Assert.Equal([32, 64, 128, 256], defaults.ModelDims);

        FlowersOptions parsed = FlowersOptions.Parse(["--steps", "20", "--image-size", "16", "--model-dims", "16,32,32", "--seed", "3", "--fresh"])!;
        Assert.Equal((20L, 16, 3L, false), (parsed.Steps, parsed.ImageSize, parsed.Seed, parsed.UseStartingCheckpoint));
        Assert.Null(FlowersOptions.Parse(["--help"]));
    }

    [Fact]
    public void ARunTrainsSavesAndWritesItsThreePictures()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string output = Path.Combine(dir.Path, "out");
        string[] args = ["--steps", "2", "--image-size", "16", "--model-dims", "16,32,32", "--batch-size", "4", "--dataset-size", "16", "--samples", "2", "--output", output];
        (int exitCode, string log) = Run("Flowers.dll", args);

        Assert.True(exitCode == 0, log);
        Assert.Contains("Trained 2 steps", log, StringComparison.Ordinal);
        Assert.Contains("Evaluation loss on 64 held-out flowers (fixed noise and timesteps): ", log, StringComparison.Ordinal);
        Assert.Matches(@"Evaluation loss on 64 held-out flowers: \d\.\d{4} at the start, \d\.\d{4} now", log);
        foreach (string picture in new[] { "samples.png", "forward-diffusion.png", "loss.png" })
        {
            using SKBitmap? bitmap = SKBitmap.Decode(Path.Combine(output, picture));
            Assert.True(bitmap is { Width: > 0, Height: > 0 }, $"{picture} does not decode");
        }

        Assert.True(File.Exists(Path.Combine(output, "checkpoints", "checkpoint-00000002.safetensors")));

        // A second run resumes from the checkpoint.
        (exitCode, log) = Run("Flowers.dll", [.. args.Select(a => a == "2" ? "3" : a)]);
        Assert.True(exitCode == 0, log);
        Assert.Contains("Resuming from checkpoint-00000002.safetensors", log, StringComparison.Ordinal);
        Assert.Contains("now at step 3", log, StringComparison.Ordinal);
    }

    internal static (int ExitCode, string Output) Run(string dll, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, "timed out\n" + stdout.Result + stderr.Result);
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
