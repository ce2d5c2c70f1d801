using Diffusion.Data;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.DocsSnippets;

/// <summary>The README's five lines and the package readmes' examples.</summary>
internal static class ReadmeSnippets
{
    public static void FiveLines()
    {
        // <snippet:readme-five-lines>
        using var unet = new UNet(new UNetOptions { HiddenDims = [32, 64, 128, 256], ImageSize = 32 });
        using var scheduler = new DdimScheduler();
        new Trainer(unet, scheduler).Fit(new ProceduralFlowers(count: 1024, imageSize: 32));
        using var images = new DiffusionPipeline(unet, scheduler).Generate(count: 16, inferenceSteps: 50, seed: 42);
        ImageGrid.Save(images, "samples.png", columns: 4);
        // </snippet>
    }

    public static void CoreReadme()
    {
        // <snippet:core-readme>
        using var unet = new UNet();                                   // the book's U-Net: 133.4 M parameters
        unet.LoadSafeTensors("diffusion.safetensors");                 // weights exported from PyTorch (docs/weights.md)
        using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
        var pipeline = new DiffusionPipeline(unet, scheduler);
        using Tensor images = pipeline.Generate(count: 16, inferenceSteps: 50, seed: 42); // [16,3,64,64] in [0,1]
        ImageGrid.Save(images, "samples.png", columns: 4);
        // </snippet>
    }

    public static void TrainingReadme(IProgress<TrainingProgress> progress)
    {
        // <snippet:training-readme>
        using var unet = new UNet(new UNetOptions { HiddenDims = [32, 64, 128, 256], ImageSize = 32 });
        using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
        var trainer = new Trainer(unet, scheduler, new TrainerOptions
        {
            Epochs = 10,
            BatchSize = 32,
            LearningRate = 1e-3,
            CheckpointDirectory = "checkpoints",       // Fit resumes from the newest checkpoint here
        });
        TrainingResult result = trainer.Fit(ImageFolderDataset.Open("flowers/", imageSize: 32), progress);
        unet.SavePretrained("unet-ema");               // after Fit the model holds the EMA weights; config.json + weights
        // </snippet>
    }
}
