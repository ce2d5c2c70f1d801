// Text-to-image on procedural flowers: a small CLIP (trained here, or loaded) encodes the captions, a small
// ConditionalUNet learns to draw "a red tulip" with condition dropout for classifier-free guidance, then the
// sample draws a grid (one row per prompt) and scores generated images with the CLIP at several guidance scales.
//
//   dotnet run --project samples/TextToImage -c Release -- [--minutes 10] [--clip-minutes 2] [--output output/text-to-image]
using System.Globalization;
using Diffusion.Clip;
using Diffusion.Data;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Samples;
using Diffusion.Samples.TextToImage;
using Diffusion.Schedulers;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

if (!new TextToImageCommandLine().TryParse(args, out TextToImageOptions? options, out int exitCode))
{
    return exitCode;
}

using SampleRun run = SampleRun.Start(options.Threads, "Stopping after this step and saving a checkpoint...");
manual_seed(options.Seed);
string output = Path.GetFullPath(options.Output);
string checkpoints = Path.Combine(output, "checkpoints");
Directory.CreateDirectory(checkpoints);

int size = options.ImageSize;
Console.WriteLine($"Drawing {options.DatasetSize} captioned flowers at {size}x{size}...");
using var train = new FlowerImages(new ProceduralFlowers(options.DatasetSize, size, (int)options.Seed));
using ClipModel clip = ClipSetup.LoadOrTrain(options, train, Path.Combine(output, "clip"));
var encoder = new ClipTextEncoder(clip); // freezes the CLIP: nothing below trains it

using var unet = new ConditionalUNet(new ConditionalUNetOptions
{
    UNet = new UNetOptions { HiddenDims = options.ModelDims, ImageSize = size },
    ContextDim = encoder.EmbeddingDim,
});
using var denoiser = new TextConditionedDenoiser(unet, encoder, new ConditioningOptions { ConditionDropout = options.Dropout, Seed = options.Seed });
var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
string? resumeFrom = TrainingCheckpoint.FindLatest(checkpoints);
Console.WriteLine($"ConditionalUNet [{string.Join(',', options.ModelDims)}] with cross-attention to {encoder.SequenceLength}x{encoder.EmbeddingDim} CLIP states: " +
                  $"{unet.parameters().Sum(p => p.numel()) / 1e6:F2}M parameters; batch {options.BatchSize}, condition dropout {options.Dropout:0.##}.");
Console.WriteLine(resumeFrom is null ? "Starting fresh." : $"Resuming from {Path.GetFileName(resumeFrom)}.");

Trainer trainer = denoiser.CreateTrainer(scheduler, new TrainerOptions
{
    Epochs = 1_000_000,
    MaxSteps = options.Steps,
    MaxDuration = options.Steps is null ? TimeSpan.FromMinutes(options.Minutes) : null,
    BatchSize = options.BatchSize,
    LearningRate = options.LearningRate,
    WarmupSteps = 100,
    LearningRateSchedule = LearningRateSchedule.Constant,
    EmaDecay = 0.999,
    CheckpointDirectory = checkpoints,
    CheckpointEverySteps = 200,
    KeepCheckpoints = 1, // each holds weights, EMA and both Adam moments: 16 bytes per parameter
    Seed = options.Seed,
    LoaderWorkers = 1,
});
TrainingResult result = trainer.Fit(train, new Every(100), run.Cancellation);
Console.WriteLine($"Trained {result.StepsThisRun} steps in {result.Elapsed:mm\\:ss} (now at step {result.Steps}, " +
                  $"{result.StepsThisRun / Math.Max(1e-9, result.Elapsed.TotalSeconds):F2} steps/s), average loss {result.FinalLoss:F4}.");
if (result.Cancelled)
{
    Console.WriteLine($"Saved {result.LastCheckpoint}. Run again to continue.");
    return 0;
}

unet.SavePretrained(Path.Combine(output, "unet-ema")); // config.json (the options) + diffusion_pytorch_model.safetensors

unet.eval();
// Training used the book's sampler settings; sampling may swap x0 clipping for dynamic thresholding (Imagen):
// x0 is divided by its 95th percentile of |x0| when that lies in (1, 1.5] (DeepFloyd IF's setting), instead of
// being clipped to [-1, 1]. With diffusers' default SampleMaxValue of 1 the two would be the same.
var pipeline = new TextToImagePipeline(unet, encoder, options.Thresholding
    ? new DdimScheduler(DdimSchedulerOptions.Book with { Thresholding = true, DynamicThresholdingRatio = 0.95, SampleMaxValue = 1.5 })
    : scheduler);
foreach (double guidance in new[] { options.Guidance, 1.0 }.Distinct())
{
    string name = guidance == options.Guidance ? "grid.png" : "grid-guidance-1.png";
    using Tensor images = pipeline.Generate(FlowerPrompts.Grid, imagesPerPrompt: 8, options.SamplingSteps, guidance, options.Seed);
    using Tensor enlarged = nn.functional.interpolate(images, scale_factor: [options.GridScale, options.GridScale], mode: InterpolationMode.Nearest);
    ImageGrid.Save(enlarged, Path.Combine(output, name), columns: 8);
    Console.WriteLine($"Wrote {name}: rows {string.Join(" / ", FlowerPrompts.Grid)}, guidance {guidance:0.##}.");
}

if (options.EvalCount > 0)
{
    Console.WriteLine();
    Console.WriteLine($"Scoring {options.EvalCount} images per caption ({FlowerPrompts.All.Count} captions) with the CLIP...");
    using var heldOut = new FlowerImages(new ProceduralFlowers(FlowerPrompts.All.Count * options.EvalCount, size, (int)options.Seed + 1));
    var rows = new List<Evaluation.Row> { Evaluation.Real(clip, heldOut) };
    foreach (double guidance in (options.EvalGuidance ?? [0.0, 1.0, options.Guidance]).Distinct())
    {
        Evaluation.Row row = Evaluation.Generated(pipeline, clip, options.EvalCount, guidance, options.EvalSteps, options.Seed + 1);
        rows.Add(options.Thresholding ? row with { Name = row.Name + ", dynamic thresholding" } : row);
        Console.WriteLine(rows[^1].Markdown);
    }

    string table = Evaluation.Header + Environment.NewLine + string.Join(Environment.NewLine, rows.Select(r => r.Markdown));
    Console.WriteLine();
    Console.WriteLine(table);
    Console.WriteLine($"(chance: species x colour {1.0 / FlowerPrompts.All.Count:P1}, species {1.0 / ProceduralFlowers.SpeciesNames.Count:P1}, colour {1.0 / ProceduralFlowers.ColourNames.Count:P1})");
    string report = Path.Combine(output, "evaluation.md");
    File.WriteAllText(report + ".tmp", $"U-Net step {result.Steps}, {options.EvalSteps} DDIM steps, {options.EvalCount} images per caption\n\n{table}\n");
    File.Move(report + ".tmp", report, overwrite: true);
}

return 0;

/// <summary>Prints a line every few steps.</summary>
internal sealed class Every(int steps) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value)
    {
        if (value.Step % steps == 0)
        {
            Console.WriteLine($"  step {value.Step}: loss {value.AverageLoss:F4}, {value.ImagesPerSecond:F0} images/s, {value.Elapsed:mm\\:ss}");
        }
    }
}
