using System.Globalization;
using Diffusion.Data;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Runtime;
using Diffusion.Schedulers;
using Diffusion.Soak;
using Diffusion.Training;
using static TorchSharp.torch;

// Soak run (docs/reliability.md): a tiny U-Net trained for thousands of steps (checkpoints included), then
// thousands of sampling steps, recording resident memory, the GC heap and live tensors. After warm-up each
// should be flat; the summary prints the least-squares slope per step.
//
//   dotnet run -c Release --project benchmarks/Diffusion.Soak -- [--train-steps 3000] [--sample-calls 60]
//       [--threads 1] [--keep-freed] [--csv soak.csv]
//   dotnet run -c Release --project benchmarks/Diffusion.Soak -- threads   (are weights equal with 1 and 2 threads?)
var options = SoakOptions.Parse(args);
TorchRuntime.EnsureAvailable();
bool keptFreed = options.KeepFreed && GlibcAllocator.KeepFreedMemory();
set_num_threads(options.Threads);
Console.WriteLine($"torch threads {get_num_threads()}, glibc keep-freed {keptFreed}, {Environment.ProcessorCount} cores, .NET {Environment.Version}");

if (options.ThreadsProbe)
{
    return ThreadCountProbe.Run();
}

var probe = new MemoryProbe();
string checkpoints = Path.Combine(Path.GetTempPath(), "diffusion-soak-" + Guid.NewGuid().ToString("N")[..8]);
try
{
    manual_seed(0);
    var unet = new UNet(new UNetOptions { HiddenDims = [16, 32, 32], ImageSize = 16 });
    var dataset = new ProceduralFlowers(512, 16, seed: 1);
    var trainer = new Trainer(unet, new DdimScheduler(DdimSchedulerOptions.Book), new TrainerOptions
    {
        MaxSteps = options.TrainSteps,
        BatchSize = 8,
        LearningRate = 1e-3,
        WarmupSteps = 50,
        LoaderWorkers = 2,
        CheckpointDirectory = checkpoints,
        CheckpointEverySteps = 250,
        KeepCheckpoints = 2,
        LogEverySteps = 1_000_000,
    });
    probe.Record("train", 0);
    probe.RecordSettled("train", 0);
    TrainingResult result = trainer.Fit(dataset, new Reporter<TrainingProgress>(p =>
    {
        if (p.Step % 10 == 0)
        {
            probe.Record("train", p.Step);
        }

        if (p.Step % 100 == 0)
        {
            probe.RecordSettled("train", p.Step);
        }

        if (p.Step % 500 == 0)
        {
            Console.WriteLine($"train step {p.Step}: loss {p.AverageLoss:F4}, {p.ImagesPerSecond:F0} images/s, RSS {MemoryProbe.ResidentBytes() / 1048576.0:F1} MiB, live tensors {Tensor.TotalCount}");
        }
    }));
    Console.WriteLine($"trained {result.Steps} steps in {result.Elapsed.TotalSeconds:F0} s, final loss {result.FinalLoss:F4}");

    using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
    var pipeline = new DiffusionPipeline(unet, scheduler);
    long samplingSteps = 0;
    probe.Record("sample", 0);
    probe.RecordSettled("sample", 0);
    for (int call = 0; call < options.SampleCalls; call++)
    {
        using Tensor images = pipeline.Generate(count: 4, inferenceSteps: 50, seed: call, progress: new Reporter<SamplingProgress>(_ =>
        {
            if (++samplingSteps % 10 == 0)
            {
                probe.Record("sample", samplingSteps);
            }

            if (samplingSteps % 100 == 0)
            {
                probe.RecordSettled("sample", samplingSteps);
            }
        }));
    }

    Console.WriteLine($"sampled {options.SampleCalls} × 4 images × 50 steps ({samplingSteps} steps)");
}
finally
{
    if (Directory.Exists(checkpoints))
    {
        Directory.Delete(checkpoints, recursive: true);
    }
}

Summary.Print(probe.Samples, options.WarmupFraction);
if (options.CsvPath is { } csv)
{
    File.WriteAllLines(csv, ["phase,step,seconds,resident_bytes,managed_bytes,live_tensors",
        .. probe.Samples.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Phase},{s.Step},{s.Seconds:F3},{s.ResidentBytes},{s.ManagedBytes},{s.LiveTensors}"))]);
    Console.WriteLine($"wrote {csv}");
}

return 0;
