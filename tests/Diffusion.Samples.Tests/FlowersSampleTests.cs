using Diffusion.Runtime;
using Diffusion.Samples.Flowers;
using SkiaSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests;

public sealed class FlowersSampleTests
{
    [Theory]
    [InlineData(new[] { "--minutes", "abc" }, "Flowers: Cannot parse argument 'abc' for option '--minutes' as expected type 'System.Double'.")]
    [InlineData(new[] { "--minutes", "0" }, "Flowers: --minutes must be between 0.01 and 1440; got 0.")]
    [InlineData(new[] { "--image-size", "30" }, "Flowers: --image-size must be a multiple of 8 (the U-Net halves it three times); got 30.")]
    [InlineData(new[] { "--image-size", "512" }, "Flowers: --image-size must be between 16 and 128; got 512.")]
    [InlineData(new[] { "--model-dims", "32,60" }, "Flowers: --model-dims widths must be multiples of 8 (GroupNorm uses 8 groups); got 60.")]
    [InlineData(new[] { "--model-dims", "32" }, "Flowers: --model-dims needs 2 to 6 widths; got '32'.")]
    [InlineData(new[] { "--batch-size", "2.5" }, "Flowers: Cannot parse argument '2.5' for option '--batch-size' as expected type 'System.Int32'.")]
    [InlineData(new[] { "--device", "tpu" }, "Flowers: --device must be 'cpu' or 'cuda'; got 'tpu'.")]
    [InlineData(new[] { "--bf16", "maybe" }, "Flowers: Argument 'maybe' not recognized. Must be one of: 'auto' 'on' 'off'.")]
    [InlineData(new[] { "--data", "/no/such/folder" }, "Flowers: --data: no file or folder at '/no/such/folder'.")]
    [InlineData(new[] { "--steps" }, "Flowers: Required argument missing for option: '--steps'.")]
    [InlineData(new[] { "--colour" }, "Flowers: Unrecognized command or argument '--colour'.")]
    [InlineData(new[] { "--dataset-size", "8", "--batch-size", "16" }, "Flowers: --dataset-size (8) must be at least --batch-size (16).")]
    [InlineData(new[] { "--batch-size", "5000" }, "Flowers: --batch-size must be between 1 and 4096; got 5000.")] // once: the dataset-size rule waits for a clean parse
    [InlineData(new[] { "--quality-samples", "1" }, "Flowers: --quality-samples must be 0 (no quality figure) or at least 2 (a covariance needs two images); got 1.")]
    [InlineData(new[] { "--quality-samples", "-3" }, "Flowers: --quality-samples must be between 0 and 4096; got -3.")]
    public void BadCommandLinesAreRejectedInOneLine(string[] args, string message)
    {
        var errors = new StringWriter();
        Assert.False(new FlowersCommandLine().TryParse(args, out _, out int exitCode, errors));
        Assert.Equal(2, exitCode);
        Assert.Equal(message + " Run with --help for the options." + Environment.NewLine, errors.ToString());
    }

    [Fact]
    public void DefaultsAndFlagsParse()
    {
        Assert.True(new FlowersCommandLine().TryParse([], out FlowersOptions? defaults, out _));
        Assert.Equal((10.0, 32, 32, 16, 50), (defaults.Minutes, defaults.ImageSize, defaults.BatchSize, defaults.Samples, defaults.SamplingSteps));
        Assert.Equal(128, defaults.QualitySamples);
        Assert.Equal([32, 64, 128, 256], defaults.ModelDims);
        Assert.Null(defaults.BFloat16);
        Assert.Null(defaults.LearningRate); // chosen by the run: 1e-3 from noise, 5e-5 going on from the committed weights
        Assert.Equal(Environment.ProcessorCount, defaults.Threads);
        Assert.True(new FlowersCommandLine().TryParse(["--lr", "5e-4"], out FlowersOptions? rate, out _));
        Assert.Equal(5e-4, rate.LearningRate);

        // The dataset-size rule reads the default of an option left out (it once read 0 and refused every --batch-size).
        var errors = new StringWriter();
        Assert.True(new FlowersCommandLine().TryParse(["--batch-size", "64"], out FlowersOptions? batch, out _, errors), errors.ToString());
        Assert.Equal((64, 4096), (batch.BatchSize, batch.DatasetSize));

        Assert.True(new FlowersCommandLine().TryParse(
            ["--steps", "20", "--image-size", "16", "--model-dims", "16,32,32", "--seed", "3", "--fresh", "--count", "4", "--bf16", "off", "--threads", "1"],
            out FlowersOptions? parsed,
            out _));
        Assert.Equal((20L, 16, 3L, false, 4), (parsed.Steps, parsed.ImageSize, parsed.Seed, parsed.UseStartingCheckpoint, parsed.Samples));
        Assert.Equal([16, 32, 32], parsed.ModelDims);
        Assert.Equal((false, 1), (parsed.BFloat16, parsed.Threads));
    }

    [Fact]
    public void BFloat16IsChosenOnlyWhereTheCpuRunsItFaster()
    {
        CpuInfo amx = CpuInfo.Parse("model name : Xeon\nflags : avx2 avx512f avx512_bf16 amx_bf16\n", 2);
        CpuInfo avx512Bf16 = CpuInfo.Parse("model name : EPYC\nflags : avx2 avx512f avx512_bf16\n", 2);
        CpuInfo avx2 = CpuInfo.Parse("model name : EPYC\nflags : avx2\n", 2);

        Assert.True(Precision.Choose(null, amx, CPU, oneDnnTurnedOff: false).BFloat16);
        Assert.True(Precision.Choose(null, avx512Bf16, CPU, oneDnnTurnedOff: false).BFloat16);
        Assert.False(Precision.Choose(null, avx2, CPU, oneDnnTurnedOff: false).BFloat16);
        Assert.False(Precision.Choose(null, avx512Bf16, CPU, oneDnnTurnedOff: true).BFloat16); // bf16's fast kernels are oneDNN's
        Assert.True(Precision.Choose(true, avx2, CPU, oneDnnTurnedOff: false).BFloat16);
        Assert.False(Precision.Choose(false, amx, CPU, oneDnnTurnedOff: false).BFloat16);
        Assert.Contains("AMX-BF16", Precision.Choose(null, amx, CPU, oneDnnTurnedOff: false).Reason, StringComparison.Ordinal);
        Assert.StartsWith("float32 (auto: this CPU has neither", Precision.Choose(null, avx2, CPU, oneDnnTurnedOff: false).Reason, StringComparison.Ordinal);

        // The committed weights were annealed in float32: auto keeps float32 for them; --bf16 on still wins.
        Assert.False(Precision.Choose(null, amx, CPU, oneDnnTurnedOff: false, continuesFloat32Weights: true).BFloat16);
        Assert.StartsWith("float32 (auto: going on from the committed weights", Precision.Choose(null, amx, CPU, oneDnnTurnedOff: false, continuesFloat32Weights: true).Reason, StringComparison.Ordinal);
        Assert.True(Precision.Choose(true, amx, CPU, oneDnnTurnedOff: false, continuesFloat32Weights: true).BFloat16);
        Assert.Contains("oneDNN is off", Precision.Choose(null, avx512Bf16, CPU, oneDnnTurnedOff: true, continuesFloat32Weights: true).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TheEvaluationChangeIsPairedImageByImage()
    {
        // Every image 0.1 higher: the standard error is 0, so even this small a change is resolved.
        EvaluationChange shifted = EvaluationChange.Of([1.0, 2.0, 3.0, 4.0], [1.1, 2.1, 3.1, 4.1]);
        Assert.Equal((2.5, 2.6), (shifted.Before, shifted.After), new DoubleTupleComparer(1e-12));
        Assert.Equal(0, shifted.StandardError, 12);
        Assert.True(shifted.Resolved);
        Assert.Contains("worse by 4.00 %", shifted.Describe(), StringComparison.Ordinal);

        // Differences +0.1, −0.1, +0.1, −0.1, +0.2: mean 0.04, squared deviations sum to 0.072, sample variance 0.018,
        // standard error √(0.018 / 5) = 0.06; 0.04 is within two of them.
        EvaluationChange mixed = EvaluationChange.Of([1.0, 1.0, 1.0, 1.0, 1.0], [1.1, 0.9, 1.1, 0.9, 1.2]);
        Assert.Equal(0.06, mixed.StandardError, 12);
        Assert.False(mixed.Resolved);
        Assert.StartsWith("1.00000 at the start, 1.04000 now (4.00 % worse, within the ± 12.00 % this check resolves", mixed.Describe(), StringComparison.Ordinal);
        Assert.EndsWith("no measurable change)", mixed.Describe(), StringComparison.Ordinal);

        EvaluationChange single = EvaluationChange.Of([1.0], [2.0]);
        Assert.True(double.IsNaN(single.StandardError));
        Assert.False(single.Resolved); // one image has no spread to judge a change by
        Assert.Equal("1.00000 at the start, 2.00000 now (worse by 100.00 %; one image has no spread to judge that by)", single.Describe());

        Assert.Throws<ArgumentException>(() => EvaluationChange.Of([1.0], [1.0, 2.0]));
        Assert.Throws<ArgumentException>(() => EvaluationChange.Of([], []));
    }

    [Fact]
    public void KeptWeightsGoBackIntoTheModelTheyCameFrom()
    {
        using var unet = new Diffusion.Models.UNet(new Diffusion.Models.UNetOptions { HiddenDims = [16, 32], ImageSize = 16 });
        Dictionary<string, TorchSharp.torch.Tensor> original = unet.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using KeptWeights kept = KeptWeights.Of(unet);
        using (TorchSharp.torch.no_grad())
        {
            foreach (TorchSharp.torch.Tensor p in unet.parameters())
            {
                p.add_(1);
            }
        }

        Assert.Contains(original, kv => !kv.Value.eq(unet.state_dict()[kv.Key]).all().item<bool>()); // training moved them
        kept.RestoreInto(unet);
        Assert.All(original, kv => Assert.True(kv.Value.eq(unet.state_dict()[kv.Key]).all().item<bool>(), kv.Key));

        using var other = new Diffusion.Models.UNet(new Diffusion.Models.UNetOptions { HiddenDims = [16, 32, 32], ImageSize = 16 });
        Assert.Throws<ArgumentException>(() => kept.RestoreInto(other));
        using var wider = new Diffusion.Models.UNet(new Diffusion.Models.UNetOptions { HiddenDims = [16, 48], ImageSize = 16 }); // same names, other shapes
        Assert.Contains("has shape", Assert.Throws<ArgumentException>(() => kept.RestoreInto(wider)).Message, StringComparison.Ordinal);
        foreach (TorchSharp.torch.Tensor t in original.Values)
        {
            t.Dispose();
        }
    }

    private sealed class DoubleTupleComparer(double tolerance) : IEqualityComparer<(double, double)>
    {
        public bool Equals((double, double) x, (double, double) y) => Math.Abs(x.Item1 - y.Item1) <= tolerance && Math.Abs(x.Item2 - y.Item2) <= tolerance;

        public int GetHashCode((double, double) obj) => 0;
    }

    [Fact]
    public void ARunTrainsSavesAndWritesItsThreePictures()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string output = Path.Combine(dir.Path, "out");
        string[] args = ["--steps", "2", "--image-size", "16", "--model-dims", "16,32,32", "--batch-size", "4", "--dataset-size", "16", "--count", "2", "--quality-samples", "3", "--sampling-steps", "2", "--threads", "1", "--output", output];
        (int exitCode, string log) = Run("Flowers.dll", args);

        Assert.True(exitCode == 0, log);
        Assert.Contains("Trained 2 steps", log, StringComparison.Ordinal);
        Assert.Contains("Evaluation loss on 64 held-out flowers (fixed noise and timesteps): ", log, StringComparison.Ordinal);
        Assert.Matches(@"Evaluation loss on 64 held-out flowers: \d\.\d{5} at the start, \d\.\d{5} now", log);
        Assert.Contains("CPU: ", log, StringComparison.Ordinal);
        Assert.Matches(@"Speed: [0-9.]+ images/s \((float32|bfloat16), 1 torch thread, ", log);
        // Where oneDNN is turned off, NNPACK goes off with it: libtorch warned at every convolution where it cannot start.
        Assert.DoesNotContain("Could not initialize NNPACK", log, StringComparison.Ordinal);
        // The quality figure: the committed CLIP is found beside the binaries and both distances are printed.
        Assert.Matches(@"Fréchet distance in the flowers CLIP's image space, 3 images a set \(20 DDIM steps\): samples vs held-out flowers \d+\.\d{4}, held-out vs held-out \d+\.\d{4}", log);
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

        // A unet-ema/ that cannot be opened is no weights to beat: the run says so, trains and replaces it.
        File.Delete(Path.Combine(output, "unet-ema", "diffusion_pytorch_model.safetensors"));
        (exitCode, log) = Run("Flowers.dll", [.. args.Select(a => a == "2" ? "4" : a)]);
        Assert.True(exitCode == 0, log);
        Assert.Contains("unet-ema/ of the last run could not be read", log, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "unet-ema", "diffusion_pytorch_model.safetensors")), log);
    }

    [Fact]
    public void ARunOfTheDefaultModelTrainsOnFromTheCommittedFolderAndSavesOneWithItsConfig()
    {
        // The committed starting-checkpoint/ is a UNet.SavePretrained folder (config.json + fp16 weights); the run's
        // model matches its options, so training goes on from the committed step count and the result is saved the same way.
        using var training = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "starting-checkpoint", "training.json")));
        long committed = training.RootElement.GetProperty("Steps").GetInt64();
        string next = (committed + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var dir = TestEnvironment.CreateTempDirectory();
        string output = Path.Combine(dir.Path, "out");
        (int exitCode, string log) = Run("Flowers.dll",
            ["--steps", next, "--batch-size", "2", "--dataset-size", "4", "--count", "1", "--sampling-steps", "2", "--quality-samples", "0", "--threads", "1", "--output", output]);

        Assert.True(exitCode == 0, log);
        Assert.Contains($"Starting from the committed weights ({committed} steps", log, StringComparison.Ordinal);
        Assert.Contains($"then step {next} at lr 5.0e-5", log, StringComparison.Ordinal); // the continuation rate
        Assert.Contains($"now at step {next}", log, StringComparison.Ordinal);
        using var unet = Diffusion.Models.UNet.FromPretrained(Path.Combine(output, "unet-ema"));
        Assert.Equal([32, 64, 128, 256], unet.Options.HiddenDims);
        Assert.Equal(32, unet.Options.ImageSize);
    }

    internal static (int ExitCode, string Output) Run(string dll, IEnumerable<string> args) => SampleProcess.RunCombined(dll, args);
}
