using Diffusion.Clip;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.DocsSnippets;

/// <summary>docs/stable-diffusion.md.</summary>
internal static class StableDiffusionSnippets
{
    public static void TextToImage()
    {
        // <snippet:sd-text-to-image>
        using StableDiffusionPipeline sd = StableDiffusionPipeline.FromPretrained("stable-diffusion-v1-5");  // owns what it loads
        using Tensor tulips = sd.Generate("a red tulip in a garden", negativePrompt: "blurry", steps: 30, seed: 1, count: 2);
        ImageGrid.Save(tulips, "tulips.png", columns: 2);                                                   // [2, 3, 512, 512] in [0, 1]
        // </snippet>
    }

    public static void ImageToImage()
    {
        // <snippet:sd-image-to-image>
        using StableDiffusionPipeline sd = StableDiffusionPipeline.FromPretrained("stable-diffusion-v1-5");
        using SkiaSharp.SKBitmap photo = SkiaSharp.SKBitmap.Decode("garden.png");   // sides multiples of 8
        using Tensor start = TensorImage.FromBitmap(photo);                           // [3, H, W] in [0, 1]
        using Tensor painted = sd.ImageToImage(start, "a red tulip, oil painting", strength: 0.6, steps: 50, seed: 1);
        TensorImage.SavePng(painted[0], "painted.png");
        // </snippet>
    }

    public static void GpuHalfAndScheduler()
    {
        // <snippet:sd-gpu-scheduler>
        // Any of this library's schedulers, on the folder's training schedule; the pipeline borrows it.
        using INoiseScheduler euler = SchedulerConfig.FromJson(
            File.ReadAllText("stable-diffusion-v1-5/scheduler/scheduler_config.json").Replace("PNDMScheduler", "EulerDiscreteScheduler"));
        using StableDiffusionPipeline sd = StableDiffusionPipeline.FromPretrained(
            "stable-diffusion-v1-5", device: CUDA, dtype: ScalarType.Float16, scheduler: euler);
        using Tensor image = sd.Generate("a red tulip in a garden", steps: 30, seed: 1);
        // </snippet>
    }

    public static void Parts()
    {
        // <snippet:sd-parts>
        using ClipTextModel textModel = ClipTextModel.FromPretrained("stable-diffusion-2-1-base/text_encoder");   // gelu, 23 layers
        ClipTokenizer tokenizer = ClipTokenizer.FromPretrained("stable-diffusion-2-1-base/tokenizer");          // pads with "!" (PadId 0)
        using UNet2DConditionModel unet = UNet2DConditionModel.FromPretrained("stable-diffusion-2-1-base/unet");
        using AutoencoderKL vae = AutoencoderKL.FromPretrained("stable-diffusion-2-1-base/vae");
        using var ddim = new DdimScheduler(new DdimSchedulerOptions
        {
            BetaSchedule = BetaSchedule.ScaledLinear, BetaStart = 0.00085, BetaEnd = 0.012, ClipSample = false, SetAlphaToOne = false, StepsOffset = 1,
        });
        using var sd = new StableDiffusionPipeline(unet, vae, new ClipTextEncoder(textModel, tokenizer), ddim);   // borrows the parts
        using Tensor image = sd.Generate("a red tulip in a garden", width: 512, height: 384, steps: 50, seed: 7);
        // </snippet>
    }
}
