using System.Text.Json.Nodes;
using Diffusion.IO;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using Microsoft.Extensions.Logging;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Diffusion.Tests.Pipelines;

/// <summary>
/// <see cref="StableDiffusionPipeline"/> against diffusers' StableDiffusionPipeline and StableDiffusionImg2ImgPipeline loops run
/// on diffusers' own UNet2DConditionModel, AutoencoderKL, PNDMScheduler and EulerDiscreteScheduler with a tiny seeded pipeline
/// folder (tests/reference/sd, written by tools/reference/stable_diffusion.py), same prompts, seeds and CPU generator; and its
/// refusals of bad folders and arguments before any model runs.
/// </summary>
public sealed class StableDiffusionPipelineTests(ITestOutputHelper output)
{
    // Budget (float32 on both sides; the reference is float32 too, so this is two roundings apart, not one):
    // - One U-Net call matches diffusers to ~1e-6 of its output's scale (UNet2DConditionModel parity: a few ulps per op),
    //   the text embeddings to ~2e-6 (ClipTextModelTests).
    // - Guidance ε_u + 7.5·(ε_c − ε_u) multiplies a prediction error by at most 1 + 2·7.5 = 16.
    // - PNDM's linear multistep combines the last four predictions with weights (55, −59, 37, −9)/24 (sum of |w| = 6.7);
    //   its DDIM-form transfer carries an error in x_t to x_{t−1} with factor sqrt(ᾱ_prev/ᾱ_t) and the U-Net's own
    //   Lipschitz constant (of order 1 for these weights). Over 8 steps of the scaled-linear schedule the carry factors
    //   multiply to at most 1/sqrt(ᾱ_876) ≈ 5.
    // So the final latents may differ by up to ~1e-6 · 16 · 6.7 · 9 calls · 5 ≈ 5e-3 of the prediction scale if every
    // step's error lined up; as random errors they add to ~1/3 of that. The latents reach |x| ≈ 30 here (guidance 7.5 on a
    // random U-Net), so the budget is relative: 2e-5 · |x| + 2e-4 absolute covers the aligned worst case at |x| = 30
    // with margin and the random case tenfold. Euler (image to image) has no multistep history and only 6 steps from
    // σ ≈ 1.9: well inside the same budget.
    // - Decoding divides by scaling_factor (× 5.5), runs the VAE (Lipschitz of order 1) and halves: image error ≤ ~3 × the
    //   latents' error, so 2e-3 absolute on images in [0, 1].
    // A wrong noise draw, timestep, pad id, guidance order or scaling factor moves latents by 1e-1 or more.
    private const double LatentAtol = 2e-4;
    private const double LatentRtol = 2e-5;
    private const double ImageAtol = 2e-3;

    private static string Sd => Path.Combine(TestEnvironment.ReferenceDir, "sd");

    private static string Tiny => Path.Combine(Sd, "tiny");

    [Fact]
    public void TextToImageMatchesDiffusersLoop()
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Sd, "io.safetensors"));
        var logs = new CapturingLoggerFactory();
        using var pipeline = StableDiffusionPipeline.FromPretrained(Tiny, loggerFactory: logs);
        Assert.IsType<PNDMScheduler>(pipeline.Scheduler);
        Assert.Equal(64, pipeline.DefaultImageSize); // sample_size 8 × factor 8
        Assert.Contains(logs.Messages, m => m.Message.Contains("safety_checker", StringComparison.Ordinal));

        // tools/reference/stable_diffusion.py TXT2IMG: 2 images, 8 PNDM steps, guidance 7.5, seed 0, "" as the negative prompt
        Tensor latents = pipeline.GenerateLatents("a red tulip in a garden", null, 64, 64, 8, 7.5, 0, 2);
        Compare("txt2img latents", latents, io["txt2img.latents"], LatentAtol, LatentRtol);
        var steps = new List<SamplingProgress>();
        Tensor images = pipeline.Generate("a red tulip in a garden", steps: 8, seed: 0, count: 2, progress: new SynchronousProgress<SamplingProgress>(steps.Add));
        Assert.Equal([2L, 3, 64, 64], images.shape);
        Assert.Equal(ScalarType.Float32, images.dtype);
        Assert.Equal(9, steps.Count); // PNDM without Runge–Kutta steps: 8 + 1 model calls
        Compare("txt2img images", images, io["txt2img.images"], ImageAtol, 0);
    }

    [Fact]
    public void ImageToImageMatchesDiffusersLoop()
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Sd, "io.safetensors"));
        using INoiseScheduler euler = SchedulerConfig.FromJson(
            File.ReadAllText(Path.Combine(Tiny, "scheduler", "scheduler_config.json")).Replace("PNDMScheduler", "EulerDiscreteScheduler", StringComparison.Ordinal));
        using var pipeline = StableDiffusionPipeline.FromPretrained(Tiny, scheduler: euler);
        Assert.Same(euler, pipeline.Scheduler);

        // IMG2IMG: strength 0.6 of 10 Euler steps, guidance 7.5, seed 1, negative prompt "blurry"
        Tensor init = io["img2img.init_image"][0]; // [3, 64, 64]
        Tensor latents = pipeline.ImageToImageLatents(init, "a red tulip, oil painting", 0.6, "blurry", 10, 7.5, 1);
        Compare("img2img latents", latents, io["img2img.latents"], LatentAtol, LatentRtol);
        Tensor images = pipeline.ImageToImage(init, "a red tulip, oil painting", strength: 0.6, negativePrompt: "blurry", steps: 10, seed: 1);
        Compare("img2img images", images, io["img2img.images"], ImageAtol, 0);
    }

    [Fact]
    public void LongPromptIsTruncatedWithAWarning()
    {
        var logs = new CapturingLoggerFactory();
        using var pipeline = StableDiffusionPipeline.FromPretrained(Tiny, loggerFactory: logs);
        using Tensor images = pipeline.Generate(string.Join(' ', Enumerable.Repeat("red tulip", 40)), steps: 1, guidanceScale: 1);
        Assert.Equal([1L, 3, 64, 64], images.shape);
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Warning && m.Message.Contains("82 tokens", StringComparison.Ordinal) &&
            m.Message.Contains("truncated", StringComparison.Ordinal));
    }

    [Fact]
    public void BadArgumentsAreRefusedBeforeAnyModelRuns()
    {
        using var pipeline = StableDiffusionPipeline.FromPretrained(Tiny);
        var steps = new List<SamplingProgress>();
        var progress = new SynchronousProgress<SamplingProgress>(steps.Add);

        var width = Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Generate("a tulip", width: 60, progress: progress));
        Assert.Equal("width", width.ParamName);
        Assert.Contains("multiple of 8", width.Message, StringComparison.Ordinal);
        Assert.Contains("got 60", width.Message, StringComparison.Ordinal);
        Assert.Equal("height", Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Generate("a tulip", height: 0, progress: progress)).ParamName);
        Assert.Equal("steps", Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Generate("a tulip", steps: 0, progress: progress)).ParamName);

        using Tensor image = full(3, 64, 64, 0.5f);
        foreach (double strength in new[] { 0.0, 1.5, double.NaN })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.ImageToImage(image, "a tulip", strength: strength, progress: progress));
            Assert.Equal("strength", e.ParamName);
            Assert.Contains("(0, 1]", e.Message, StringComparison.Ordinal);
        }

        Assert.Equal("strength", Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.ImageToImage(image, "a tulip", strength: 0.01, steps: 50, progress: progress)).ParamName);
        using Tensor odd = full(3, 60, 64, 0.5f);
        Assert.Contains("60×64", Assert.Throws<ArgumentException>(() => pipeline.ImageToImage(odd, "a tulip", progress: progress)).Message, StringComparison.Ordinal);
        using Tensor gray = full(1, 64, 64, 0.5f);
        Assert.Contains("[3,H,W]", Assert.Throws<ArgumentException>(() => pipeline.ImageToImage(gray, "a tulip", progress: progress)).Message, StringComparison.Ordinal);
        using Tensor bright = full(3, 64, 64, 2f);
        Assert.Contains("[0, 1]", Assert.Throws<ArgumentException>(() => pipeline.ImageToImage(bright, "a tulip", progress: progress)).Message, StringComparison.Ordinal);
        Assert.Empty(steps);
    }

    [Fact]
    public void SamplingLeavesNoLiveTensorsBehindStopsOnCancelAndSerialisesCallers()
    {
        using var pipeline = StableDiffusionPipeline.FromPretrained(Tiny);
        using Tensor image = full(3, 64, 64, 0.5f);
        pipeline.Generate("a red tulip", steps: 2).Dispose();
        pipeline.ImageToImage(image, "a red tulip", strength: 0.5, steps: 4).Dispose();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 2; i++)
        {
            pipeline.Generate("a red tulip", steps: 2, seed: i).Dispose();
            pipeline.ImageToImage(image, "a red tulip", strength: 0.5, steps: 4, seed: i).Dispose();
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);

        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.Throws<OperationCanceledException>(() => pipeline.Generate("a red tulip", steps: 2, cancellationToken: cancel.Token));

        // Two threads on one pipeline (one scheduler) wait for each other and get what they get alone.
        using Tensor alone = pipeline.Generate("a red tulip", steps: 3, seed: 5);
        Tensor[] together = new Tensor[2];
        Parallel.For(0, 2, i => together[i] = pipeline.Generate("a red tulip", steps: 3, seed: 5));
        foreach (Tensor t in together)
        {
            using (t)
            {
                Assert.True(t.eq(alone).all().item<bool>());
            }
        }
    }

    [Theory]
    [InlineData("vae")]
    [InlineData("tokenizer")]
    [InlineData("scheduler")]
    public void FolderMissingAComponentIsRefusedNamingIt(string component)
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        CopyFolder(Tiny, dir.Path);
        Directory.Delete(Path.Combine(dir.Path, component), recursive: true);
        var e = Assert.Throws<FileNotFoundException>(() => StableDiffusionPipeline.FromPretrained(dir.Path));
        Assert.Contains($"\"{component}\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AUNetConfigThatBreaksARuleIsRefusedBeforeAnyWeightsLoad()
    {
        // The text encoder's weights are gone: were it loaded first, that would be the error. The U-Net's config is
        // checked against its rules before anything is read, and the message is the one UNet2DConditionModel.FromPretrained gives.
        using var dir = TestEnvironment.CreateTempDirectory();
        CopyFolder(Tiny, dir.Path);
        foreach (string weights in Directory.GetFiles(Path.Combine(dir.Path, "text_encoder"), "*.safetensors"))
        {
            File.Delete(weights);
        }

        string unetConfig = Path.Combine(dir.Path, "unet", "config.json");
        JsonObject config = JsonNode.Parse(File.ReadAllText(unetConfig))!.AsObject();
        config["layers_per_block"] = 0;
        File.WriteAllText(unetConfig, config.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => StableDiffusionPipeline.FromPretrained(dir.Path));
        Assert.StartsWith(unetConfig + ": not a UNet2DConditionModel this library can build", e.Message, StringComparison.Ordinal);
        Assert.Contains("LayersPerBlock", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModelIndexWithoutAComponentOrOfAnotherPipelineIsRefused()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        CopyFolder(Tiny, dir.Path);
        string index = Path.Combine(dir.Path, StableDiffusionPipeline.ModelIndexFileName);
        string text = File.ReadAllText(index);
        File.WriteAllText(index, text.Replace("\"unet\"", "\"unet_old\"", StringComparison.Ordinal));
        Assert.Contains("\"unet\"", Assert.Throws<InvalidDataException>(() => StableDiffusionPipeline.FromPretrained(dir.Path)).Message, StringComparison.Ordinal);
        File.WriteAllText(index, text.Replace("\"StableDiffusionPipeline\"", "\"StableDiffusionXLPipeline\"", StringComparison.Ordinal));
        Assert.Contains("StableDiffusionXLPipeline", Assert.Throws<InvalidDataException>(() => StableDiffusionPipeline.FromPretrained(dir.Path)).Message, StringComparison.Ordinal);
        File.Delete(index);
        Assert.Throws<FileNotFoundException>(() => StableDiffusionPipeline.FromPretrained(dir.Path));
    }

    private void Compare(string what, Tensor actual, Tensor expected, double atol, double rtol)
    {
        Assert.Equal(expected.shape, actual.shape);
        (double maxAbs, double excess) = ReferenceJson.Compare(actual, expected, atol, rtol);
        output.WriteLine($"{what}: max |diff| {maxAbs:E2} (|expected| ≤ {expected.abs().max().item<float>():G4})");
        Assert.True(excess <= 0, $"{what}: max |diff| {maxAbs:E2} exceeds {atol:E0} + {rtol:E0}·|expected|");
    }

    [Theory]
    [InlineData("bfloat16")]
    [InlineData("float16")]
    public void AReducedPrecisionPipelineDrawsTheFloat32Picture(string type)
    {
        // The whole pipeline (text encoder, U-Net, VAE) loaded into bfloat16 or float16: the images come back as float32
        // in [0, 1] and show the float32 picture of the same seed. Bound: a 16-bit float rounds each op's result to a
        // relative 2^-8 (bfloat16) or 2^-11 (float16); over the ~40 ops in a row of this tiny pipeline's U-Net, 4 steps
        // (guidance 2: errors × at most 1 + 2·2 = 5) and the VAE, a worst-case aligned sum stays near 40 · 5 · 4 · 2^-8 ≈ 3
        // relative for bfloat16 but random roundings add as √: about √800 · 2^-8 ≈ 0.1, a tenth of the picture's own scale.
        // Another seed changes the picture entirely (a difference of the order of the pictures' spread). So the reduced
        // run must sit at most a third as far from the float32 picture as the float32 picture of another seed does; a
        // wrong cast (weights left in float32 with 16-bit inputs, or an unconverted VAE) fails it or throws.
        ScalarType dtype = type == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float16;
        const string Prompt = "a red tulip in a garden";
        using var full = StableDiffusionPipeline.FromPretrained(Tiny);
        using var reduced = StableDiffusionPipeline.FromPretrained(Tiny, dtype: dtype);
        using Tensor reference = full.Generate(Prompt, steps: 4, guidanceScale: 2, seed: 0);
        using Tensor otherSeed = full.Generate(Prompt, steps: 4, guidanceScale: 2, seed: 1);
        using Tensor image = reduced.Generate(Prompt, steps: 4, guidanceScale: 2, seed: 0);

        Assert.Equal(ScalarType.Float32, image.dtype);
        Assert.Equal(reference.shape, image.shape);
        Assert.True(image.isfinite().all().item<bool>());
        Assert.InRange(image.min().item<float>(), 0f, 1f);
        Assert.InRange(image.max().item<float>(), 0f, 1f);
        double error = (image - reference).abs().mean().item<float>();
        double seedGap = (otherSeed - reference).abs().mean().item<float>();
        output.WriteLine($"{type}: mean |reduced − float32| {error:E3}; mean |other seed − float32| {seedGap:E3}");
        Assert.True(seedGap > 0.02, $"the float32 pictures of two seeds should differ; mean difference {seedGap:E3}");
        Assert.True(error < seedGap / 3, $"{type} drew another picture: mean difference {error:E3} against {seedGap:E3} between seeds");
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
