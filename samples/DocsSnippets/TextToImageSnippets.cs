using Diffusion.Clip;
using Diffusion.Data;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using Diffusion.Training;
using static TorchSharp.torch;

namespace Diffusion.Samples.DocsSnippets;

/// <summary>docs/text-to-image.md.</summary>
internal static class TextToImageSnippets
{
    public static void Overview()
    {
        // <snippet:text-to-image>
        using ClipModel clip = ClipModel.Load("output/clip-flowers");          // e.g. saved by samples/ClipZeroShot
        var encoder = new ClipTextEncoder(clip);                                // freezes the CLIP
        using var unet = new ConditionalUNet(new ConditionalUNetOptions
        {
            UNet = new UNetOptions { HiddenDims = [32, 64, 128, 256], ImageSize = 16 },
            ContextDim = encoder.EmbeddingDim,                                  // 64 for ClipConfig.Small
        });

        // Training: the ordinary Trainer, with the denoiser as its predict delegate.
        using var denoiser = new TextConditionedDenoiser(unet, encoder, new ConditioningOptions { ConditionDropout = 0.1 });
        var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
        denoiser.CreateTrainer(scheduler, new TrainerOptions { MaxSteps = 640, BatchSize = 32, LearningRate = 1e-3 })
                .Fit(new ProceduralFlowers(8192, imageSize: 16));

        // Sampling with classifier-free guidance.
        var pipeline = new TextToImagePipeline(unet, encoder, scheduler);
        using Tensor images = pipeline.Generate("a red tulip", count: 8, inferenceSteps: 50, guidanceScale: 2, seed: 42);
        using Tensor grid = pipeline.Generate(["a red tulip", "a blue aster"], imagesPerPrompt: 8, seed: 42); // one row per prompt
        // </snippet>
    }
}
