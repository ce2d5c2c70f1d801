using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Training;

public sealed class TrainerTests
{
    [Fact]
    public void TinyUNetDrivesTheLossClearlyDown()
    {
        using var scope = NewDisposeScope();
        var unet = TinySetup.Model();
        var trainer = new Trainer(unet, TinySetup.Scheduler(), TinySetup.Options() with { MaxSteps = 80, BatchSize = 8, UseEma = false });
        TrainingResult result = trainer.Fit(TinySetup.Flowers(64));

        Assert.Equal(80, result.Steps);
        double first = result.Losses.Take(10).Average();
        double last = result.Losses.TakeLast(10).Average();
        Assert.True(last < 0.75 * first, $"loss fell only from {first:F4} to {last:F4}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BFloat16TrainingLeavesAFloat32ModelWithTheFinalWeights(bool useEma)
    {
        // Module.to(dtype) replaces the parameters: the end of a bf16 run must copy the float32 master (or EMA)
        // weights into the model's new float32 parameters, not into the disposed bf16 ones.
        using var checkpoints = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var unet = TinySetup.Model();
        var options = TinySetup.Options(checkpoints.Path) with { MaxSteps = 3, BFloat16 = true, UseEma = useEma, EmaDecay = 0.5 };
        TrainingResult result = new Trainer(unet, TinySetup.Scheduler(), options).Fit(TinySetup.Flowers(16));

        Assert.Equal(3, result.Steps);
        Dictionary<string, Tensor> saved = TinySetup.ReadAll(result.LastCheckpoint!);
        string prefix = useEma ? TrainingCheckpoint.EmaPrefix : TrainingCheckpoint.ModelPrefix;
        foreach ((string name, TorchSharp.Modules.Parameter parameter) in unet.named_parameters())
        {
            Assert.Equal(ScalarType.Float32, parameter.dtype);
            Assert.True(parameter.eq(saved[prefix + name]).all().item<bool>(), $"parameter '{name}' is not the checkpoint's {prefix}{name}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)] // two micro-batches per step: gradients accumulate (in the optimizer's flat buffer) before clipping
    public void ResumedTrainingEqualsUninterruptedTrainingBitForBit(int accumulation)
    {
        using var straight = TestEnvironment.CreateTempDirectory();
        using var split = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var data = TinySetup.Flowers(20); // 5 batches: epochs of 5 steps (2 with accumulation), resumed mid-epoch
        TrainerOptions Options(string path, long steps) => TinySetup.Options(path) with { MaxSteps = steps, GradientAccumulationSteps = accumulation };

        new Trainer(TinySetup.Model(), TinySetup.Scheduler(), Options(straight.Path, 7)).Fit(data);
        TrainingResult first = new Trainer(TinySetup.Model(), TinySetup.Scheduler(), Options(split.Path, 3)).Fit(data);
        TrainingResult second = new Trainer(TinySetup.Model(seed: 99), TinySetup.Scheduler(), Options(split.Path, 7)).Fit(data);

        Assert.Null(first.ResumedFromStep);
        Assert.Equal(3, second.ResumedFromStep);
        Assert.Equal(4, second.StepsThisRun);
        TinySetup.AssertSameTensors(
            TinySetup.ReadAll(TrainingCheckpoint.FindLatest(straight.Path)!),
            TinySetup.ReadAll(TrainingCheckpoint.FindLatest(split.Path)!));
    }

    [Fact]
    public void ACheckpointRebuildsItsModelWithoutBeingToldTheOptions()
    {
        // The checkpoint records the model's config.json text, so a sampler needs only the file.
        using var checkpoints = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var unet = TinySetup.Model();
        TrainingResult result = new Trainer(unet, TinySetup.Scheduler(), TinySetup.Options(checkpoints.Path) with { MaxSteps = 3 }).Fit(TinySetup.Flowers(16));

        Assert.Equal(unet.ToConfigJson(), Diffusion.IO.SafeTensors.ReadHeader(result.LastCheckpoint!).Metadata["diffusion.model.config"]);
        using var rebuilt = Assert.IsType<Diffusion.Models.UNet>(TrainingCheckpoint.LoadModel(result.LastCheckpoint!));
        Assert.Equal(unet.Options, rebuilt.Options);
        Dictionary<string, Tensor> saved = TinySetup.ReadAll(result.LastCheckpoint!);
        foreach ((string name, Tensor value) in rebuilt.state_dict())
        {
            Assert.True(value.eq(saved[TrainingCheckpoint.EmaPrefix + name]).all().item<bool>(), $"'{name}' is not the checkpoint's EMA weight");
        }

        // A checkpoint without a config (older, or a model of no known class) is refused with the way out.
        string old = Path.Combine(checkpoints.Path, "old.safetensors");
        Diffusion.IO.SafeTensors.Save(saved, old);
        var e = Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.LoadModel(old));
        Assert.Contains("TrainingCheckpoint.LoadWeights", e.Message, StringComparison.Ordinal);
        Assert.Contains(old, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CancellationSavesAResumableCheckpointAndReturns()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        using var cancel = new CancellationTokenSource();
        var progress = new SynchronousProgress<TrainingProgress>(p =>
        {
            if (p.Step == 2)
            {
                cancel.Cancel();
            }
        });
        TrainingResult result = new Trainer(TinySetup.Model(), TinySetup.Scheduler(), TinySetup.Options(dir.Path) with { MaxSteps = 50 })
            .Fit(TinySetup.Flowers(), progress, cancel.Token);

        Assert.True(result.Cancelled);
        Assert.Equal(2, result.Steps);
        Assert.Equal(TrainingCheckpoint.FindLatest(dir.Path), result.LastCheckpoint);
        Assert.EndsWith("checkpoint-00000002.safetensors", result.LastCheckpoint, StringComparison.Ordinal);

        TrainingResult resumed = new Trainer(TinySetup.Model(), TinySetup.Scheduler(), TinySetup.Options(dir.Path) with { MaxSteps = 4 }).Fit(TinySetup.Flowers());
        Assert.Equal(2, resumed.ResumedFromStep);
        Assert.Equal(4, resumed.Steps);
    }

    [Fact]
    public void NaNLossStopsWithAClearErrorAndLeavesTheLastCheckpointUntouched()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var clean = TinySetup.Flowers(12);
        new Trainer(TinySetup.Model(), TinySetup.Scheduler(), TinySetup.Options(dir.Path) with { MaxSteps = 3 }).Fit(clean);
        string good = TrainingCheckpoint.FindLatest(dir.Path)!;
        byte[] before = File.ReadAllBytes(good);

        // Every image poisoned from item 0 on: the first batch of the next epoch holds a NaN.
        var poisoned = new PoisonedAll(clean);
        var e = Assert.Throws<NonFiniteLossException>(() =>
            new Trainer(TinySetup.Model(), TinySetup.Scheduler(), TinySetup.Options(dir.Path) with { MaxSteps = 6 }).Fit(poisoned));
        Assert.Equal(3, e.Step);
        Assert.Contains("OnNonFiniteLoss", e.Message, StringComparison.Ordinal);
        Assert.Equal(good, TrainingCheckpoint.FindLatest(dir.Path));
        Assert.Equal(before, File.ReadAllBytes(good));
    }

    [Fact]
    public void SkipStepPolicyDiscardsPoisonedBatchesAndGoesOn()
    {
        using var scope = NewDisposeScope();
        var unet = TinySetup.Model();
        var data = new PoisonedDataset(TinySetup.Flowers(8), poisonedIndex: 3);
        TrainingResult result = new Trainer(unet, TinySetup.Scheduler(), TinySetup.Options() with { MaxSteps = 4, OnNonFiniteLoss = NonFiniteLossPolicy.SkipStep })
            .Fit(data);

        Assert.Equal(4, result.Steps);
        Assert.Equal(2, result.SkippedSteps); // one poisoned batch per epoch of 2 batches
        Assert.All(unet.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }

    [Fact]
    public void KeepsOnlyTheLastCheckpoints()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        new Trainer(TinySetup.Model(), TinySetup.Scheduler(), TinySetup.Options(dir.Path) with { MaxSteps = 10, CheckpointEverySteps = 2, KeepCheckpoints = 2 })
            .Fit(TinySetup.Flowers(8));
        string[] files = [.. Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Equal(["checkpoint-00000008.safetensors", "checkpoint-00000010.safetensors"], files);
    }

    [Fact]
    public void ResumingWithAnotherBatchSizeSaysWhatDiffers()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        new Trainer(TinySetup.Model(), TinySetup.Scheduler(), TinySetup.Options(dir.Path) with { MaxSteps = 1 }).Fit(TinySetup.Flowers(8));
        var e = Assert.Throws<InvalidOperationException>(() =>
            new Trainer(TinySetup.Model(), TinySetup.Scheduler(), TinySetup.Options(dir.Path) with { MaxSteps = 2, BatchSize = 2 }).Fit(TinySetup.Flowers(8)));
        Assert.Contains("BatchSize 4", e.Message, StringComparison.Ordinal);
        Assert.Contains("this run has 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LiveTensorCountStaysFlatOverManySteps()
    {
        using var scope = NewDisposeScope();
        var unet = TinySetup.Model();
        var counts = new List<long>();
        var progress = new SynchronousProgress<TrainingProgress>(p => counts.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount));
        new Trainer(unet, TinySetup.Scheduler(), TinySetup.Options() with { MaxSteps = 60, BatchSize = 2 }).Fit(TinySetup.Flowers(8), progress);

        // The count is per thread. Each batch's tensors (images, labels) are made on a loader thread and
        // disposed on this one, so this thread's count falls by exactly that many per step; everything the
        // step itself makes is disposed. Growth of any kind would show as a changing difference.
        Assert.Equal(60, counts.Count);
        long[] differences = [.. counts.Zip(counts.Skip(1), (a, b) => b - a).Skip(5).Distinct()];
        Assert.Equal([-2L], differences);
    }

    [Fact]
    public void OptionsValidationListsEveryViolation()
    {
        var e = Assert.Throws<ArgumentException>(() => new TrainerOptions { BatchSize = 0, LearningRate = -1, EmaDecay = 1 }.Validate());
        Assert.Contains("BatchSize must be at least 1; got 0", e.Message, StringComparison.Ordinal);
        Assert.Contains("LearningRate must be positive and finite; got -1", e.Message, StringComparison.Ordinal);
        Assert.Contains("EmaDecay must be in (0, 1); got 1", e.Message, StringComparison.Ordinal);
    }

    private sealed class PoisonedAll(Diffusion.Data.IImageDataset inner) : Diffusion.Data.IImageDataset
    {
        public int Count => inner.Count;

        public int ImageSize => inner.ImageSize;

        public IReadOnlyList<string> LabelNames => inner.LabelNames;

        public Diffusion.Data.ImageItem GetItem(int index)
        {
            var item = inner.GetItem(index);
            item.Image.fill_(float.NaN);
            return item;
        }
    }
}
