using Diffusion.Clip;
using Diffusion.IO;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Training;

public sealed class ClipTrainerTests
{
    private static readonly string[] Captions = [.. ColourDataset.Colours.Select(c => ColourDataset.Caption(c.Name))];

    private static ClipModel TinyModel(int seed = 1)
    {
        manual_seed(seed);
        ClipTokenizer tokenizer = ClipTokenizer.FromCorpus(Captions, contextLength: 8);
        return new ClipModel(ClipConfig.Tiny(tokenizer.VocabularySize, imageSize: 16, contextLength: 8), tokenizer);
    }

    [Fact]
    public void LearnsColourCaptionsWellEnoughToClassifyZeroShot()
    {
        using ClipModel model = TinyModel();
        var options = new ClipTrainerOptions { MaxSteps = 60, BatchSize = 4, LearningRate = 3e-3, WarmupSteps = 5, WeightDecay = 0.0 };
        using var trainer = new ClipTrainer(model, options);
        ClipTrainingResult result = trainer.Fit(new ColourDataset(32));
        Assert.Equal(60, result.Steps);
        Assert.Equal(60, result.Losses.Count);
        // Batches of 4 drawn from 4 colours repeat colours (false negatives), so the loss cannot reach 0.
        Assert.True(result.RecentLoss < result.Losses.Take(5).Average() / 2, $"loss did not fall: first {result.Losses[0]:F3}, recent {result.RecentLoss:F3}");

        var heldOut = new ColourDataset(8, seed: 99);
        for (int i = 0; i < heldOut.Count; i++)
        {
            (Tensor image, string caption) = heldOut.Get(i);
            using (image)
            {
                IReadOnlyList<float> p = model.Classify(image, [.. ColourDataset.Colours.Select(c => c.Name)], ["a {} square"]);
                Assert.Equal(1f, p.Sum(), 3);
                Assert.Equal(caption, ColourDataset.Caption(ColourDataset.Colours[p.ToList().IndexOf(p.Max())].Name));
                float right = model.Similarity(image, caption);
                Assert.InRange(right, -1f, 1f);
            }
        }
    }

    [Theory]
    [InlineData(ClipLossKind.Clip, 1, false)]
    [InlineData(ClipLossKind.SigLip, 1, false)]
    [InlineData(ClipLossKind.Clip, 2, true)] // accumulation and EMA: their state is checkpointed too
    public void ResumedTrainingEqualsUninterruptedTrainingBitForBit(ClipLossKind loss, int accumulation, bool useEma)
    {
        // A run cancelled after step 3 (its checkpoint holds the weights, AdamW's moments and step count, the EMA,
        // the generator and the loader position) and resumed from its folder by a fresh trainer on a model with other
        // weights ends with exactly the checkpoint, and the losses, of 6 steps in one run.
        using var straight = TestEnvironment.CreateTempDirectory();
        using var split = TestEnvironment.CreateTempDirectory();
        var options = new ClipTrainerOptions
        {
            MaxSteps = 6, BatchSize = 4, WarmupSteps = 1, LearningRate = 3e-3, Loss = loss, CheckpointEverySteps = 100,
            GradientAccumulationSteps = accumulation, UseEma = useEma, EmaDecay = 0.9, RandomHorizontalFlip = true, Seed = 5,
        };
        var data = new ColourDataset(20); // 5 batches an epoch: the interruption falls mid-epoch
        ClipTrainingResult whole;
        using (ClipModel model = TinyModel())
        using (var trainer = new ClipTrainer(model, options with { CheckpointDirectory = straight.Path }))
        {
            whole = trainer.Fit(data);
        }

        using (ClipModel model = TinyModel())
        using (var trainer = new ClipTrainer(model, options with { CheckpointDirectory = split.Path }))
        using (var stop = new CancellationTokenSource())
        {
            var progress = new SynchronousProgress<ClipTrainingProgress>(p =>
            {
                if (p.Step == 3)
                {
                    stop.Cancel();
                }
            });
            ClipTrainingResult first = trainer.Fit(data, progress, stop.Token);
            Assert.True(first.Cancelled);
            Assert.Equal(3, first.Steps);
            Assert.Equal(TrainingCheckpoint.FindLatest(split.Path), first.LastCheckpoint);
        }

        ClipTrainingResult second;
        using (ClipModel model = TinyModel(seed: 2))
        using (var trainer = new ClipTrainer(model, options with { CheckpointDirectory = split.Path }))
        {
            second = trainer.Fit(data);
        }

        Assert.Equal(3, second.ResumedFromStep);
        Assert.Equal(6, second.Steps);
        Assert.Equal(whole.Losses.Skip(3), second.Losses);
        string expectedPath = TrainingCheckpoint.FindLatest(straight.Path)!;
        string actualPath = TrainingCheckpoint.FindLatest(split.Path)!;
        Assert.Equal(Path.GetFileName(expectedPath), Path.GetFileName(actualPath));
        Dictionary<string, Tensor> expected = SafeTensors.Load(expectedPath);
        Dictionary<string, Tensor> actual = SafeTensors.Load(actualPath);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        Assert.Contains(expected.Keys, k => k.StartsWith("adamw.exp_avg_sq.", StringComparison.Ordinal));
        Assert.Equal(useEma, expected.Keys.Any(k => k.StartsWith("ema.", StringComparison.Ordinal)));
        Assert.Equal(loss == ClipLossKind.SigLip, expected.ContainsKey("model.siglip.logit_bias"));
        string[] differing = [.. expected.Where(p => !p.Value.eq(actual[p.Key]).all().item<bool>()).Select(p => p.Key)];
        Assert.True(differing.Length == 0, $"{differing.Length} of {expected.Count} tensors differ after resuming, e.g. '{differing.FirstOrDefault()}'");
        Assert.Equal(SafeTensors.ReadHeader(expectedPath).Metadata["diffusion.training.state"], SafeTensors.ReadHeader(actualPath).Metadata["diffusion.training.state"]);
    }

    [Fact]
    public void AnOptimizerStateOfAnotherShapeIsRefusedWithTheFileNamedAndNothingLoaded()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        ClipTrainerOptions options = TrainTwoStepsInto(dir.Path);

        // Replace one of the saved moments with one of the wrong shape, keeping the file a valid checkpoint otherwise.
        string path = TrainingCheckpoint.FindLatest(dir.Path)!;
        Dictionary<string, Tensor> state = SafeTensors.Load(path);
        var metadata = SafeTensors.ReadHeader(path).Metadata.ToDictionary();
        string key = state.Keys.First(k => k.StartsWith("adamw.exp_avg.", StringComparison.Ordinal));
        state[key] = zeros(3);
        SafeTensors.Save(state, path, metadata);

        using ClipModel fresh = TinyModel(seed: 3);
        Dictionary<string, Tensor> before = fresh.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        using var resumed = new ClipTrainer(fresh, options with { MaxSteps = 4 });
        var error = Assert.Throws<InvalidDataException>(() => resumed.Fit(new ColourDataset(12)));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.All(fresh.state_dict(), p => Assert.True(p.Value.eq(before[p.Key]).all().item<bool>(), $"'{p.Key}' was loaded from the refused checkpoint"));
    }

    [Fact]
    public void ResumingWithAnotherLossIsRefusedNamingBoth()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        ClipTrainerOptions options = TrainTwoStepsInto(dir.Path);

        using ClipModel fresh = TinyModel();
        using var resumed = new ClipTrainer(fresh, options with { MaxSteps = 4, Loss = ClipLossKind.SigLip });
        string message = Assert.Throws<InvalidOperationException>(() => resumed.Fit(new ColourDataset(12))).Message;
        Assert.Contains("Clip loss", message, StringComparison.Ordinal);
        Assert.Contains("SigLip", message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckpointFoldersOfTheEarlierFormatAreRefusedWithHowToGoOn()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string old = Path.Combine(dir.Path, "checkpoint-000040");
        Directory.CreateDirectory(old);
        File.WriteAllText(Path.Combine(old, "trainer_state.json"), "{\"step\": 40}");
        using ClipModel model = TinyModel();
        using var trainer = new ClipTrainer(model, new ClipTrainerOptions { MaxSteps = 2, BatchSize = 4, CheckpointDirectory = dir.Path });
        string message = Assert.Throws<InvalidOperationException>(() => trainer.Fit(new ColourDataset(12))).Message;
        Assert.Contains("checkpoint-000040/", message, StringComparison.Ordinal);
        Assert.Contains($"ClipModel.Load(\"{old}\")", message, StringComparison.Ordinal);
        Assert.Contains("InitialStep = 40", message, StringComparison.Ordinal);
    }

    /// <summary>Trains the tiny model 2 steps with checkpoints in <paramref name="directory"/>; returns the options used.</summary>
    private static ClipTrainerOptions TrainTwoStepsInto(string directory)
    {
        var options = new ClipTrainerOptions { MaxSteps = 2, BatchSize = 4, WarmupSteps = 1, CheckpointDirectory = directory };
        using ClipModel model = TinyModel();
        using var trainer = new ClipTrainer(model, options);
        trainer.Fit(new ColourDataset(12));
        return options;
    }

    [Fact]
    public void CheckpointsAreSingleFilesAndTheNextFitContinuesTheStepCount()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        var options = new ClipTrainerOptions { MaxSteps = 6, BatchSize = 4, WarmupSteps = 1, CheckpointDirectory = dir.Path, CheckpointEverySteps = 3 };
        using (ClipModel model = TinyModel())
        using (var trainer = new ClipTrainer(model, options))
        {
            ClipTrainingResult result = trainer.Fit(new ColourDataset(12));
            Assert.Equal(Path.Combine(dir.Path, "checkpoint-00000006.safetensors"), result.LastCheckpoint);
            Assert.Null(result.ResumedFromStep);

            // The checkpoint's weights are the model's: they load into a model of the same config by key.
            using ClipModel reloaded = TinyModel(seed: 4);
            TrainingCheckpoint.LoadWeights(result.LastCheckpoint!, reloaded);
            Assert.All(model.state_dict(), p => Assert.True(p.Value.eq(reloaded.state_dict()[p.Key]).all().item<bool>(), p.Key));
        }

        Assert.Equal(["checkpoint-00000003.safetensors", "checkpoint-00000006.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());
        using ClipModel fresh = TinyModel(seed: 2);
        using var resumed = new ClipTrainer(fresh, options with { MaxSteps = 9 });
        ClipTrainingResult after = resumed.Fit(new ColourDataset(12));
        Assert.Equal(6, after.ResumedFromStep);
        Assert.Equal(9, after.Steps);
        Assert.Equal(3, after.Losses.Count);
    }

    [Fact]
    public void TheDataOrderIsAFunctionOfSeedEpochAndIndex()
    {
        using ClipModel model = TinyModel();
        var data = new ColourDataset(12);
        var sampler = new ClipBatchSampler(data, model.ImageProcessor, 4, seed: 7, flip: true);
        Assert.Equal(3, sampler.BatchesPerEpoch);
        Tensor[] Pixels(ClipBatchSampler s, int epoch, int first) => [.. s.Epoch(epoch, first, CancellationToken.None).Select(b => b.Pixels)];

        Tensor[] epoch0 = Pixels(sampler, 0, 0);
        Tensor[] fromTheMiddle = Pixels(new ClipBatchSampler(data, model.ImageProcessor, 4, seed: 7, flip: true), 0, 1);
        Assert.True(epoch0[1].eq(fromTheMiddle[0]).all().item<bool>() && epoch0[2].eq(fromTheMiddle[1]).all().item<bool>(), "a batch depends on what was drawn before it");
        Tensor[] epoch1 = Pixels(sampler, 1, 0);
        Assert.False(epoch0[0].eq(epoch1[0]).all().item<bool>(), "two epochs gave the same first batch");
        Tensor[] otherSeed = Pixels(new ClipBatchSampler(data, model.ImageProcessor, 4, seed: 8, flip: true), 0, 0);
        Assert.False(epoch0[0].eq(otherSeed[0]).all().item<bool>(), "two seeds gave the same first batch");
    }

    [Fact]
    public void CancellationStopsBetweenStepsAndSavesACheckpoint()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var cts = new CancellationTokenSource();
        using ClipModel model = TinyModel();
        using var trainer = new ClipTrainer(model, new ClipTrainerOptions { MaxSteps = 100, BatchSize = 4, CheckpointDirectory = dir.Path });
        var progress = new SynchronousProgress<ClipTrainingProgress>(p =>
        {
            if (p.Step == 2)
            {
                cts.Cancel();
            }
        });
        ClipTrainingResult result = trainer.Fit(new ColourDataset(8), progress, cts.Token);
        Assert.True(result.Cancelled);
        Assert.Equal(2, result.Steps);
        Assert.Equal(Path.Combine(dir.Path, "checkpoint-00000002.safetensors"), result.LastCheckpoint);
    }

    [Fact]
    public void LiveTensorCountStaysFlatAcrossSteps()
    {
        using ClipModel model = TinyModel();
        using var trainer = new ClipTrainer(model, new ClipTrainerOptions { MaxSteps = 12, BatchSize = 4, Loss = ClipLossKind.SigLip });
        var counts = new List<long>();
        trainer.Fit(new ColourDataset(8), new SynchronousProgress<ClipTrainingProgress>(_ => counts.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount)));
        // After the optimizer's state exists (step 1), nothing accumulates.
        Assert.Single(counts.Skip(2).Distinct());
    }

    [Fact]
    public void LogitScaleIsClampedAtLnHundredAndSigLipBiasLearns()
    {
        using ClipModel model = TinyModel();
        using (no_grad())
        {
            model.state_dict()["logit_scale"].fill_(6f);
        }

        using var trainer = new ClipTrainer(model, new ClipTrainerOptions { MaxSteps = 3, BatchSize = 4, WarmupSteps = 0, Loss = ClipLossKind.SigLip });
        trainer.Fit(new ColourDataset(8));
        Assert.True(model.state_dict()["logit_scale"].item<float>() <= (float)Math.Log(100) + 1e-6);
        Assert.NotEqual(-10f, trainer.SigLip!.LogitBias);
    }

    [Fact]
    public void OptionsAndInputsAreValidated()
    {
        var e = Assert.Throws<ArgumentException>(() => new ClipTrainerOptions { MaxSteps = 0, BatchSize = 1, Beta2 = 1, CheckpointEverySteps = 0 }.Validate());
        Assert.Contains("MaxSteps must be at least 1 or null; got 0.", e.Message, StringComparison.Ordinal);
        Assert.Contains("CheckpointEverySteps must be at least 1; got 0.", e.Message, StringComparison.Ordinal);
        Assert.Contains("BatchSize must be at least 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("Beta2 must be in [0, 1); got 1", e.Message, StringComparison.Ordinal);

        using var noTokenizer = new ClipModel(ClipConfig.Tiny(imageSize: 16, contextLength: 8));
        Assert.Throws<ArgumentException>(() => new ClipTrainer(noTokenizer, new ClipTrainerOptions()));
        using ClipModel model = TinyModel();
        using var trainer = new ClipTrainer(model, new ClipTrainerOptions { MaxSteps = 1 });
        Assert.Throws<ArgumentException>(() => trainer.Fit(new ColourDataset(1)));
    }
}
