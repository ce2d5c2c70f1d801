// The main job: train a small U-Net on flowers for a bounded time (resuming from the last checkpoint),
// then sample a grid with the book's DDIM sampler and draw the forward-diffusion figure and the loss curve.
using System.Globalization;
using Diffusion.Data;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Runtime;
using Diffusion.Samples;
using Diffusion.Samples.Flowers;
using Diffusion.Schedulers;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

if (!new FlowersCommandLine().TryParse(args, out FlowersOptions? options, out int exitCode))
{
    return exitCode;
}

using SampleRun run = SampleRun.Start(options.Threads, "Stopping after this step and saving a checkpoint...");
Device device = options.Device == "cuda" ? CUDA : CPU;
if (options.Device == "cuda" && !cuda.is_available())
{
    throw new UsageException("--device cuda was asked for, but TorchSharp finds no CUDA device (this build references the CPU libtorch).");
}

string output = Path.GetFullPath(options.Output);
string checkpoints = Path.Combine(output, "checkpoints");
Directory.CreateDirectory(checkpoints);

IImageDataset dataset = options.Data switch
{
    null => new ProceduralFlowers(options.DatasetSize, options.ImageSize, (int)options.Seed),
    string p when p.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) => ParquetImageDataset.Open(p, options.ImageSize),
    string p => ImageFolderDataset.Open(p, options.ImageSize),
};

var unet = new UNet(new UNetOptions { HiddenDims = options.ModelDims, ImageSize = options.ImageSize });
var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
string? resumeFrom = TrainingCheckpoint.FindLatest(checkpoints);
long? startingSteps = resumeFrom is null ? StartingCheckpoint.LoadIfUseful(options, unet, checkpoints) : null;
bool warmStart = startingSteps is not null;
bool continuesCommittedWeights = StartingCheckpoint.Fits(options, unet); // a warm start, or a checkpoint of one
double learningRate = options.LearningRate
    ?? (continuesCommittedWeights ? FlowersOptions.ContinuationLearningRate : FlowersOptions.FreshLearningRate);
(bool bfloat16, string precision) = Precision.Choose(
    options.BFloat16, run.Cpu, device, oneDnnTurnedOff: TorchRuntime.CpuWorkaround is not null, continuesFloat32Weights: continuesCommittedWeights);
Console.WriteLine($"Diffusion.Net flowers: {dataset.Count} images at {options.ImageSize}px, U-Net [{string.Join(',', options.ModelDims)}] " +
                  $"({unet.parameters().Sum(p => p.numel()) / 1e6:F2}M parameters), batch {options.BatchSize}, on {device.type} in {precision}.");
Console.WriteLine(resumeFrom is not null ? $"Resuming from {Path.GetFileName(resumeFrom)}." : warmStart ? "Training on from the committed weights." : "Starting from noise.");
// A fixed held-out set with fixed noise and timesteps: the same figure at the start and the end says whether
// this run made the model better (procedural data: flowers of another seed, never trained on).
IImageDataset heldOut = options.Data is null
    ? new ProceduralFlowers(64, options.ImageSize, (int)((options.Seed + 1_000_003) % int.MaxValue))
    : new EvaluationSubset(dataset, 64);
string heldOutName = options.Data is null ? "64 held-out flowers" : $"the first {heldOut.Count} training images";
Console.WriteLine(options.Steps is { } s ? $"Training to step {s}; Ctrl+C saves and stops." : $"Training for {options.Minutes:0.#} minutes; Ctrl+C saves and stops.");

var trainer = new Trainer(unet, scheduler, new TrainerOptions
{
    Epochs = 1_000_000,
    MaxSteps = options.Steps,
    MaxDuration = options.Steps is null ? TimeSpan.FromMinutes(options.Minutes) : null,
    BatchSize = options.BatchSize,
    LearningRate = learningRate,
    WarmupSteps = 100,
    InitialStep = startingSteps ?? 0, // the committed weights' schedule goes on: no second warm-up from 0
    LearningRateSchedule = LearningRateSchedule.Constant,
    EmaDecay = 0.999,
    CheckpointDirectory = checkpoints,
    CheckpointEverySteps = device.type == DeviceType.CUDA ? 2000 : 100, // a GPU makes 100 steps in seconds
    KeepCheckpoints = 2,
    Seed = options.Seed,
    Device = device,
    BFloat16 = bfloat16,
});

if (resumeFrom is not null)
{
    TrainingCheckpoint.LoadWeights(resumeFrom, unet); // the EMA weights, to evaluate them; Fit loads the full state
}

double[] evaluationBefore = trainer.EvaluationLosses(heldOut, options.Seed);
Console.WriteLine($"Evaluation loss on {heldOutName} (fixed noise and timesteps): {evaluationBefore.Average():F5}");
using KeptWeights startingWeights = KeptWeights.Of(unet); // handed back if the run does not beat them on that check
if (warmStart)
{
    Console.WriteLine($"First {trainer.Options.MomentWarmupSteps} batches only fill AdamW's moments (the committed file has none); then step {startingSteps + 1} at lr {learningRate:0.0e0}.");
}

var bar = new ConsoleProgressBar(options.Steps is null ? TimeSpan.FromMinutes(options.Minutes) : null, options.Steps, startingSteps ?? 0);
TrainingResult result = trainer.Fit(dataset, bar, run.Cancellation);
bar.Finish();
LossHistory.Append(Path.Combine(output, "loss-history.csv"), result);
Console.WriteLine($"Trained {result.StepsThisRun} steps in {result.Elapsed:mm\\:ss} (now at step {result.Steps}), " +
                  (result.StepsThisRun > 0 ? $"average loss {result.FinalLoss:F4}, " : string.Empty) + $"waited {result.DataWait.TotalSeconds:F1} s for data.");
EvaluationChange change = EvaluationChange.Of(evaluationBefore, trainer.EvaluationLosses(heldOut, options.Seed));
Console.WriteLine($"Evaluation loss on {heldOutName}: {change.Describe()}.");
if (change.After > change.Before)
{
    // A run ends no worse than it started: the pictures and unet-ema/ get the starting weights back; the checkpoint
    // keeps the trained state, which the next run resumes (well-trained weights need longer than ten CPU minutes).
    startingWeights.RestoreInto(unet);
    Console.WriteLine($"Kept the weights this run started from ({change.Before:F5}) for unet-ema/ and the pictures; the checkpoint holds the trained ones, and the next run goes on from them.");
}

Console.WriteLine($"Speed: {result.StepsThisRun * options.BatchSize / Math.Max(1e-9, result.Elapsed.TotalSeconds):F1} images/s " +
                  $"({(bfloat16 ? "bfloat16" : "float32")}, {torch.get_num_threads()} torch thread{(torch.get_num_threads() == 1 ? string.Empty : "s")}, {run.Cpu}).");
if (result.Cancelled)
{
    Console.WriteLine($"Saved {result.LastCheckpoint}. Run again to continue.");
    return 0;
}

unet.SavePretrained(Path.Combine(output, "unet-ema")); // config.json (the options) + diffusion_pytorch_model.safetensors

var pipeline = new DiffusionPipeline(unet, scheduler);
using (var images = pipeline.Generate(options.Samples, inferenceSteps: options.SamplingSteps, seed: options.Seed))
{
    ImageGrid.Save(images, Path.Combine(output, "samples.png"), columns: (int)Math.Ceiling(Math.Sqrt(options.Samples)), scale: Math.Max(1, 128 / options.ImageSize));
}

QualityFigure.Measure(pipeline, options, options.QualitySamples);

using (var item = dataset.GetItem(0))
using (var row = ForwardDiffusion.Sample(item.Image, scheduler, seed: options.Seed))
{
    ImageGrid.Save(row, Path.Combine(output, "forward-diffusion.png"), columns: (int)row.shape[0], scale: Math.Max(1, 128 / options.ImageSize));
}

(long firstStep, IReadOnlyList<float> losses) = LossHistory.Read(Path.Combine(output, "loss-history.csv"));
LossPlot.Save(losses, Path.Combine(output, "loss.png"), new LossPlotOptions
{
    Title = $"Flowers: training loss ({options.ImageSize}px, U-Net [{string.Join(',', options.ModelDims)}], batch {options.BatchSize})",
    YLabel = "L1 loss",
    FirstStep = firstStep,
});
Console.WriteLine($"Wrote {Path.Combine(output, "samples.png")}, forward-diffusion.png and loss.png.");
return 0;
