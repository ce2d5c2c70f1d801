using System.Diagnostics;
using System.Text.Json;
using Diffusion.Benchmarks.Workloads;
using Diffusion.Clip;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks.Compare;

/// <summary>
/// <c>gpu sd</c>: a whole Stable Diffusion 1.5 text-to-image call (<see cref="StableDiffusionPipeline.Generate"/>:
/// prompt encoding, classifier-free guidance at 7.5, DDIM, the VAE decode, the copy back to the CPU) at SD 1.5's real
/// configuration with random weights, in float16 on the GPU (the VAE in float32, as its <c>force_upcast</c> asks).
/// benchmarks/pytorch/sd_gpu.py times the same call built from diffusers' own models in PyTorch on the same GPU.
/// </summary>
internal static class GpuStableDiffusion
{
    /// <summary>SD 1.5's <c>text_encoder/config.json</c> (openai/clip-vit-large-patch14's text tower).</summary>
    internal static ClipTextConfig TextEncoder15 { get; } = new()
    {
        HiddenSize = 768,
        IntermediateSize = 3072,
        NumAttentionHeads = 12,
        NumHiddenLayers = 12,
        HiddenAct = ClipActivation.QuickGelu,
    };

    /// <summary>SD 1.5's <c>scheduler/scheduler_config.json</c> with DDIM as the class.</summary>
    internal static DdimSchedulerOptions Ddim15 { get; } = new()
    {
        BetaStart = 0.00085,
        BetaEnd = 0.012,
        BetaSchedule = BetaSchedule.ScaledLinear,
        ClipSample = false,
        SetAlphaToOne = false,
        StepsOffset = 1,
        TimestepSpacing = TimestepSpacing.Leading,
    };

    internal const string Prompt = "a red tulip in a garden";

    /// <param name="steps">Denoising steps per image.</param>
    /// <param name="size">Image side in pixels (512 for SD 1.5).</param>
    /// <param name="repeats">Timed calls after the warm-up.</param>
    /// <param name="dtype">The U-Net's and text encoder's element type.</param>
    public static int Run(int steps, int size, int repeats, ScalarType dtype)
    {
        Device device = BenchmarkEnvironment.Device;
        var clock = Stopwatch.StartNew();
        manual_seed(0);
        using var unet = new UNet2DConditionModel(UNet2DConditionShapes.StableDiffusion15, device, dtype);
        var vaeConfig = VaeDecodeBenchmarks.StableDiffusion15;
        using var vae = new AutoencoderKL(vaeConfig, device, vaeConfig.PipelineType(dtype)); // as FromPretrained loads it
        using var textModel = new ClipTextModel(TextEncoder15);
        textModel.to(device, dtype);
        var tokenizer = ClipTokenizer.FromCorpus([Prompt]);
        using var scheduler = new DdimScheduler(Ddim15);
        unet.eval();
        vae.eval();
        textModel.eval();
        var pipeline = new StableDiffusionPipeline(unet, vae, new ClipTextEncoder(textModel, tokenizer), scheduler);
        double buildSeconds = clock.Elapsed.TotalSeconds;

        clock.Restart();
        pipeline.Generate(Prompt, width: size, height: size, steps: 2, seed: 1).Dispose(); // cuDNN and allocator warm-up
        double warmupSeconds = clock.Elapsed.TotalSeconds;

        var seconds = new List<double>();
        double pixelMean = double.NaN;
        for (int i = 0; i < repeats; i++)
        {
            clock.Restart();
            using Tensor images = pipeline.Generate(Prompt, width: size, height: size, steps: steps, guidanceScale: 7.5, seed: i);
            seconds.Add(clock.Elapsed.TotalSeconds); // Generate returns CPU images: the GPU has finished
            using Tensor mean = images.mean();
            pixelMean = mean.item<float>();
        }

        var result = new Dictionary<string, object?>
        {
            ["side"] = "ours",
            ["mode"] = "sd15_text_to_image",
            ["device"] = BenchmarkEnvironment.DeviceName,
            ["dtype"] = dtype.ToString().ToLowerInvariant(),
            ["vae_dtype"] = vae.parameters().First().dtype.ToString().ToLowerInvariant(),
            ["size"] = size,
            ["steps"] = steps,
            ["guidance"] = 7.5,
            ["scheduler"] = "DDIM",
            ["unet_parameters"] = unet.parameters().Sum(p => p.numel()),
            ["build_s"] = buildSeconds,
            ["warmup_s"] = warmupSeconds,
            ["seconds"] = seconds,
            ["seconds_median"] = BenchmarkEnvironment.Median(seconds),
            ["pixel_mean"] = pixelMean,
            ["peak_rss_mib"] = BenchmarkEnvironment.PeakRssMiB(),
        };
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(result));
        return double.IsFinite(pixelMean) ? 0 : 1;
    }
}
