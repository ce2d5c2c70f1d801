using Diffusion.Clip;
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
        var options = new ClipTrainerOptions { Steps = 60, BatchSize = 4, LearningRate = 3e-3, WarmupSteps = 5, WeightDecay = 0.0 };
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
    [InlineData(ClipLossKind.Clip)]
    [InlineData(ClipLossKind.SigLip)]
    public void ResumedTrainingEqualsUninterruptedTrainingBitForBit(ClipLossKind loss)
    {
        // The checkpoint holds AdamW's moments and step counts (optimizer.safetensors), so three steps, a
        // checkpoint and three resumed steps give exactly the weights of six steps in one run.
        using var straight = TestEnvironment.CreateTempDirectory();
        using var split = TestEnvironment.CreateTempDirectory();
        var options = new ClipTrainerOptions { Steps = 6, BatchSize = 4, WarmupSteps = 1, LearningRate = 3e-3, Loss = loss, CheckpointEvery = 3 };
        using (ClipModel model = TinyModel())
        using (var trainer = new ClipTrainer(model, options with { CheckpointDirectory = straight.Path }))
        {
            trainer.Fit(new ColourDataset(12));
        }

        using (ClipModel model = TinyModel())
        using (var trainer = new ClipTrainer(model, options with { CheckpointEvery = 0, CheckpointDirectory = split.Path }))
        using (var stop = new CancellationTokenSource())
        {
            // Interrupted after step 3 of the same 6-step schedule; cancelling writes the checkpoint.
            var progress = new SynchronousProgress<ClipTrainingProgress>(p =>
            {
                if (p.Step == 3)
                {
                    stop.Cancel();
                }
            });
            Assert.True(trainer.Fit(new ColourDataset(12), progress, stop.Token).Cancelled);
        }

        string third = Path.Combine(split.Path, "checkpoint-000003");
        Assert.True(File.Exists(Path.Combine(third, ClipTrainer.OptimizerStateFileName)));
        using (ClipModel model = TinyModel(seed: 2))
        using (var trainer = new ClipTrainer(model, options with { ResumeFrom = third, CheckpointDirectory = split.Path }))
        {
            Assert.Equal(6, trainer.Fit(new ColourDataset(12)).Steps);
        }

        Dictionary<string, Tensor> expected = Diffusion.IO.SafeTensors.Load(Path.Combine(straight.Path, "checkpoint-000006", ClipModel.WeightsFileName));
        Dictionary<string, Tensor> actual = Diffusion.IO.SafeTensors.Load(Path.Combine(split.Path, "checkpoint-000006", ClipModel.WeightsFileName));
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        string[] differing = [.. expected.Where(p => !p.Value.eq(actual[p.Key]).all().item<bool>()).Select(p => p.Key)];
        Assert.True(differing.Length == 0, $"{differing.Length} of {expected.Count} tensors differ after resuming, e.g. '{differing.FirstOrDefault()}'");
    }

    [Fact]
    public void AnOptimizerStateOfAnotherModelIsRefusedWithTheFileNamed()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        ClipTrainerOptions options = TrainTwoStepsInto(dir.Path);

        // Replace the saved moments with ones of the wrong shape.
        string folder = Path.Combine(dir.Path, "checkpoint-000002");
        string path = Path.Combine(folder, ClipTrainer.OptimizerStateFileName);
        Dictionary<string, Tensor> state = Diffusion.IO.SafeTensors.Load(path);
        string key = state.Keys.First(k => k.StartsWith("exp_avg.", StringComparison.Ordinal));
        Tensor original = state[key];
        state[key] = zeros(3);
        Diffusion.IO.SafeTensors.Save(state, path);

        using ClipModel fresh = TinyModel(seed: 3);
        Tensor before = fresh.LogitScaleParameter.detach().clone();
        using var resumed = new ClipTrainer(fresh, options with { Steps = 4, ResumeFrom = folder, CheckpointDirectory = null });
        var error = Assert.Throws<InvalidDataException>(() => resumed.Fit(new ColourDataset(12)));
        Assert.Contains(ClipTrainer.OptimizerStateFileName, error.Message, StringComparison.Ordinal);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.True(fresh.LogitScaleParameter.eq(before).all().item<bool>(), "the refused checkpoint's weights were loaded anyway");

        // A step count beyond the checkpoint's own (which would make AdamW's bias correction meaningless) is refused too.
        state = Diffusion.IO.SafeTensors.Load(path);
        string stepKey = state.Keys.First(k => k.StartsWith("step.", StringComparison.Ordinal));
        state[key] = original;
        state[stepKey] = tensor(new[] { 99L });
        Diffusion.IO.SafeTensors.Save(state, path);
        Assert.Contains("step count 99", Assert.Throws<InvalidDataException>(() => resumed.Fit(new ColourDataset(12))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResumingWithAnotherLossIsRefusedNamingBoth()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        ClipTrainerOptions options = TrainTwoStepsInto(dir.Path);

        using ClipModel fresh = TinyModel();
        using var resumed = new ClipTrainer(fresh, options with
        {
            Steps = 4, Loss = ClipLossKind.SigLip, ResumeFrom = Path.Combine(dir.Path, "checkpoint-000002"), CheckpointDirectory = null,
        });
        string message = Assert.Throws<InvalidOperationException>(() => resumed.Fit(new ColourDataset(12))).Message;
        Assert.Contains("Clip loss", message, StringComparison.Ordinal);
        Assert.Contains("SigLip", message, StringComparison.Ordinal);
    }

    /// <summary>Trains the tiny model 2 steps with checkpoints in <paramref name="directory"/>; returns the options used.</summary>
    private static ClipTrainerOptions TrainTwoStepsInto(string directory)
    {
        var options = new ClipTrainerOptions { Steps = 2, BatchSize = 4, WarmupSteps = 1, CheckpointDirectory = directory };
        using ClipModel model = TinyModel();
        using var trainer = new ClipTrainer(model, options);
        trainer.Fit(new ColourDataset(12));
        return options;
    }

    [Fact]
    public void CheckpointsAreCompleteFoldersAndResumeContinuesTheStepCount()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        var options = new ClipTrainerOptions { Steps = 6, BatchSize = 4, WarmupSteps = 1, CheckpointDirectory = dir.Path, CheckpointEvery = 3 };
        using (ClipModel model = TinyModel())
        using (var trainer = new ClipTrainer(model, options))
        {
            ClipTrainingResult result = trainer.Fit(new ColourDataset(12));
            Assert.Equal(Path.Combine(dir.Path, "checkpoint-000006"), result.LastCheckpoint);
        }

        Assert.Equal(["checkpoint-000003", "checkpoint-000006"], Directory.GetDirectories(dir.Path).Select(Path.GetFileName).Order());
        string third = Path.Combine(dir.Path, "checkpoint-000003");
        Assert.True(File.Exists(Path.Combine(third, "trainer_state.json")));
        Assert.Contains("\"step\": 3", File.ReadAllText(Path.Combine(third, "trainer_state.json")), StringComparison.Ordinal);

        // A checkpoint is a Hugging Face folder: it opens as a model with its tokenizer.
        using (ClipModel reloaded = ClipModel.Load(third))
        {
            Assert.NotNull(reloaded.Tokenizer);
        }

        using ClipModel fresh = TinyModel(seed: 2);
        using var resumed = new ClipTrainer(fresh, options with { ResumeFrom = third, CheckpointDirectory = null });
        ClipTrainingResult after = resumed.Fit(new ColourDataset(12));
        Assert.Equal(6, after.Steps);
        Assert.Equal(3, after.Losses.Count);
    }

    [Fact]
    public void CancellationStopsBetweenStepsAndSavesACheckpoint()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var cts = new CancellationTokenSource();
        using ClipModel model = TinyModel();
        using var trainer = new ClipTrainer(model, new ClipTrainerOptions { Steps = 100, BatchSize = 4, CheckpointDirectory = dir.Path });
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
        Assert.Equal(Path.Combine(dir.Path, "checkpoint-000002"), result.LastCheckpoint);
    }

    [Fact]
    public void LiveTensorCountStaysFlatAcrossSteps()
    {
        using ClipModel model = TinyModel();
        using var trainer = new ClipTrainer(model, new ClipTrainerOptions { Steps = 12, BatchSize = 4, Loss = ClipLossKind.SigLip });
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

        using var trainer = new ClipTrainer(model, new ClipTrainerOptions { Steps = 3, BatchSize = 4, WarmupSteps = 0, Loss = ClipLossKind.SigLip });
        trainer.Fit(new ColourDataset(8));
        Assert.True(model.state_dict()["logit_scale"].item<float>() <= (float)Math.Log(100) + 1e-6);
        Assert.NotEqual(-10f, trainer.SigLip!.LogitBias);
    }

    [Fact]
    public void OptionsAndInputsAreValidated()
    {
        var e = Assert.Throws<ArgumentException>(() => new ClipTrainerOptions { Steps = 0, BatchSize = 1, Beta2 = 1 }.Validate());
        Assert.Contains("Steps must be positive; got 0", e.Message, StringComparison.Ordinal);
        Assert.Contains("BatchSize must be at least 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("Beta2 must be in [0, 1); got 1", e.Message, StringComparison.Ordinal);

        using var noTokenizer = new ClipModel(ClipConfig.Tiny(imageSize: 16, contextLength: 8));
        Assert.Throws<ArgumentException>(() => new ClipTrainer(noTokenizer, new ClipTrainerOptions()));
        using ClipModel model = TinyModel();
        using var trainer = new ClipTrainer(model, new ClipTrainerOptions { Steps = 1 });
        Assert.Throws<ArgumentException>(() => trainer.Fit(new ColourDataset(1)));
    }
}
