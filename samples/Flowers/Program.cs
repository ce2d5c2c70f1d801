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
// A warm start, or a checkpoint of the default model (a --fresh run resumes as one unless --fresh is given again).
bool continuesCommittedWeights = StartingCheckpoint.Fits(options, unet);
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

unet.to(device); // both evaluations where training runs: a GPU's kernels round differently from the CPU's
double[] evaluationBefore = trainer.EvaluationLosses(heldOut, options.Seed);
Console.WriteLine($"Evaluation loss on {heldOutName} (fixed noise and timesteps): {evaluationBefore.Average():F5}");

// The weights to beat on that check, handed back at the end if training does not: those this run starts from, or,
// when it resumes, unet-ema/ of the last run if that is better (a run that handed back its starting weights left a
// checkpoint worse than its unet-ema/).
KeptWeights toBeat = KeptWeights.Of(unet);
double toBeatLoss = evaluationBefore.Average();
string toBeatName = "the weights this run started from";
string delivered = Path.Combine(output, "unet-ema");
if (resumeFrom is not null && File.Exists(Path.Combine(delivered, "config.json")))
{
    KeptWeights? earlierWeights = null;
    try
    {
        using UNet earlier = UNet.FromPretrained(delivered);
        if (earlier.Options != unet.Options)
        {
            Console.WriteLine("unet-ema/ of the last run holds another model shape: this run does not compare with it, and replaces it.");
        }
        else
        {
            earlierWeights = KeptWeights.Of(earlier);
            earlierWeights.RestoreInto(unet);
            double earlierLoss = trainer.EvaluationLoss(heldOut, options.Seed);
            if (earlierLoss < toBeatLoss)
            {
                toBeat.Dispose();
                (toBeat, toBeatLoss, toBeatName, earlierWeights) = (earlierWeights, earlierLoss, "unet-ema/ of the last run", null);
                Console.WriteLine($"unet-ema/ of the last run scores {earlierLoss:F5} on that check: the weights this run must beat.");
            }
        }
    }
    catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
    {
        Console.WriteLine($"unet-ema/ of the last run could not be read ({e.Message}): this run does not compare with it, and replaces it.");
    }
    finally
    {
        earlierWeights?.Dispose(); // unet may hold unet-ema/'s weights now: Fit loads the checkpoint's full state when it resumes
    }
}

using KeptWeights weightsToBeat = toBeat;
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
Console.WriteLine($"Speed: {result.StepsThisRun * options.BatchSize / Math.Max(1e-9, result.Elapsed.TotalSeconds):F1} images/s " +
                  $"({(bfloat16 ? "bfloat16" : "float32")}, {torch.get_num_threads()} torch thread{(torch.get_num_threads() == 1 ? string.Empty : "s")}, {run.Cpu}).");
if (result.Cancelled)
{
    Console.WriteLine($"Saved {result.LastCheckpoint}. Run again to continue.");
    return 0;
}

if (change.After > toBeatLoss)
{
    // A run ends no worse than it started: unet-ema/ and the pictures get the weights to beat; the checkpoint keeps
    // the trained state, which the next run resumes (well-trained weights need longer than ten CPU minutes).
    weightsToBeat.RestoreInto(unet);
    Console.WriteLine($"Kept {toBeatName} ({toBeatLoss:F5}) for unet-ema/ and the pictures: the trained ones score higher ({change.After:F5}). " +
                      "The checkpoint holds the trained ones, and the next run goes on from them.");
}

unet.SavePretrained(delivered); // config.json (the options) + diffusion_pytorch_model.safetensors

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
