using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using Diffusion.Tests.Support;
using Diffusion.Training;
using static TorchSharp.torch;

namespace Diffusion.Tests.Determinism;

/// <summary>
/// On the CPU, the same seed and options give bit-identical weights after N steps — whatever the number of
/// loader threads — and a model trained twice samples bit-identical images. (Across torch thread counts and on
/// GPUs this does not hold; docs/reliability.md says why.)
/// </summary>
public sealed class TrainingDeterminismTests
{
    [Fact]
    public void TheSameSeedAndOptionsGiveIdenticalCheckpointsAndSamples()
    {
        using TempDirectory first = TestEnvironment.CreateTempDirectory();
        using TempDirectory second = TestEnvironment.CreateTempDirectory();
        using TempDirectory reseeded = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var data = Tiny.Flowers(12);
        TrainerOptions options = Tiny.Options() with { MaxSteps = 7, CheckpointEverySteps = 100 };

        new Trainer(Tiny.UNet(), Tiny.Scheduler(), options with { CheckpointDirectory = first.Path, LoaderWorkers = 1 }).Fit(data);
        new Trainer(Tiny.UNet(), Tiny.Scheduler(), options with { CheckpointDirectory = second.Path, LoaderWorkers = 3 }).Fit(data);
        new Trainer(Tiny.UNet(), Tiny.Scheduler(), options with { CheckpointDirectory = reseeded.Path, Seed = 1 }).Fit(data);

        string a = TrainingCheckpoint.FindLatest(first.Path)!;
        string b = TrainingCheckpoint.FindLatest(second.Path)!;
        Tiny.AssertSameTensors(SafeTensors.Load(a), SafeTensors.Load(b));
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b)); // weights, EMA, optimizer, generator, metadata
        Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(TrainingCheckpoint.FindLatest(reseeded.Path)!));

        foreach (Func<INoiseScheduler> scheduler in new Func<INoiseScheduler>[] { Tiny.Scheduler, () => new DpmSolverMultistepScheduler() })
        {
            Tensor x = Sample(a, scheduler());
            Tensor y = Sample(b, scheduler());
            Assert.True(x.eq(y).all().item<bool>(), $"samples with {x.GetType().Name} differ");
        }
    }

    private static Tensor Sample(string checkpoint, INoiseScheduler scheduler)
    {
        UNet unet = Tiny.UNet(seed: 42); // other initial weights: the checkpoint must replace them all
        TrainingCheckpoint.LoadWeights(checkpoint, unet);
        using (scheduler as IDisposable)
        {
            return new DiffusionPipeline(unet, scheduler).Generate(count: 2, inferenceSteps: 8, seed: 5);
        }
    }
}
