using Diffusion.Data;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Runtime;
using Diffusion.Schedulers;
using Diffusion.Training;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.DocsSnippets;

/// <summary>docs/training.md.</summary>
internal static class TrainingSnippets
{
    public static void Options(UNet unet, INoiseScheduler scheduler, IImageDataset dataset)
    {
        // <snippet:training-options>
        var options = new TrainerOptions
        {
            Epochs = 100,                       // or MaxSteps = 20_000, or MaxDuration = TimeSpan.FromHours(2)
            BatchSize = 32,
            GradientAccumulationSteps = 2,      // 64 images per optimizer step
            LearningRate = 1e-3,
            WarmupSteps = 300,
            LearningRateSchedule = LearningRateSchedule.Cosine,
            Loss = LossType.L1,                 // the book's; LossType.Mse with MinSnrGamma = 5 is the other classic
            EmaDecay = 0.999,
            CheckpointDirectory = "checkpoints",
            CheckpointEverySteps = 500,
            Seed = 1,
        };
        TrainingResult result = new Trainer(unet, scheduler, options).Fit(dataset);
        // </snippet>
    }

    public static void ProgressAndCancel(UNet unet, INoiseScheduler scheduler, IImageDataset dataset)
    {
        // <snippet:training-progress>
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };   // Ctrl+C: save and stop
        var progress = new Progress<TrainingProgress>(p =>
            Console.Write($"\rstep {p.Step}/{p.TotalSteps} loss {p.AverageLoss:F4} lr {p.LearningRate:E1} {p.ImagesPerSecond:F1} img/s"));

        var trainer = new Trainer(unet, scheduler, new TrainerOptions { Epochs = 50, CheckpointDirectory = "checkpoints" });
        TrainingResult result = trainer.Fit(dataset, progress, cancel.Token);
        if (result.Cancelled)
        {
            Console.WriteLine($"\nstopped at step {result.Steps}; {result.LastCheckpoint} resumes it");
        }
        // </snippet>
    }

    public static void EvaluateAndContinue(UNet unet, INoiseScheduler scheduler, IImageDataset dataset)
    {
        // <snippet:training-evaluate-continue>
        unet.LoadSafeTensors("unet-ema/diffusion_pytorch_model.safetensors"); // weights that already had 13,026 steps
        var trainer = new Trainer(unet, scheduler, new TrainerOptions
        {
            MaxDuration = TimeSpan.FromMinutes(10),
            LearningRate = 1e-3,
            WarmupSteps = 100,
            LearningRateSchedule = LearningRateSchedule.Constant,
            InitialStep = 13026,                                      // go on at step 13027: no second warm-up
        });
        var heldOut = new ProceduralFlowers(64, imageSize: 32, seed: 1_000_003);   // never trained on
        double before = trainer.EvaluationLoss(heldOut, seed: 0);
        TrainingResult result = trainer.Fit(dataset);
        double after = trainer.EvaluationLoss(heldOut, seed: 0);     // the same noise and timesteps: comparable
        Console.WriteLine($"evaluation loss {before:F4} -> {after:F4}");
        LossPlot.Save(result.Losses, "loss.png", new LossPlotOptions { FirstStep = result.Steps - result.StepsThisRun + 1 });
        // </snippet>
    }

    public static void LoadCheckpoint()
    {
        // <snippet:training-load-checkpoint>
        string latest = TrainingCheckpoint.FindLatest("checkpoints") ?? throw new FileNotFoundException("no checkpoint yet");
        using var unet = (UNet)TrainingCheckpoint.LoadModel(latest);  // the options come from the checkpoint; EMA weights

        using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
        using Tensor images = new DiffusionPipeline(unet, scheduler).Generate(count: 16, inferenceSteps: 50, seed: 7);
        ImageGrid.Save(images, "samples.png", columns: 4, scale: 4);
        // </snippet>
    }

    public static void Logging(UNet unet, INoiseScheduler scheduler)
    {
        // <snippet:training-logging>
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddSimpleConsole());
        var trainer = new Trainer(unet, scheduler, new TrainerOptions { LoggerFactory = loggers, LogEverySteps = 50 });
        // </snippet>
    }

    public static void Speed(UNet unet)
    {
        // <snippet:training-speed>
        GlibcAllocator.KeepFreedMemory();                 // first, before any tensor: ~1.75× faster CPU steps, ~1 GB more memory
        torch.set_num_threads(Environment.ProcessorCount);
        var options = new TrainerOptions
        {
            BFloat16 = true,                              // bfloat16 compute, float32 master weights
            Device = torch.cuda.is_available() ? CUDA : CPU,
            LoaderWorkers = 2,
        };
        // </snippet>
    }
}
