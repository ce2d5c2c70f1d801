using Diffusion.Data;
using Diffusion.Models;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Training;

public sealed class TextConditionedDenoiserTests
{
    private static ImageBatch Batch(int epoch, int index, string?[] captions, long[]? labels = null) =>
        new(epoch, index, zeros([captions.Length, 3, TinySetup.ImageSize, TinySetup.ImageSize]),
            labels is null ? null : tensor(labels), captions, [.. Enumerable.Range(0, captions.Length)]);

    [Fact]
    public void DropoutHasTheAskedRateAndDependsOnlyOnSeedEpochBatchAndPosition()
    {
        using var unet = ConditionalSetup.Model();
        using var denoiser = new TextConditionedDenoiser(unet, new WordHashEncoder(), new ConditioningOptions { ConditionDropout = 0.1, Seed = 3 });
        using var again = new TextConditionedDenoiser(unet, new WordHashEncoder(), new ConditioningOptions { ConditionDropout = 0.1, Seed = 3 });
        using var otherSeed = new TextConditionedDenoiser(unet, new WordHashEncoder(), new ConditioningOptions { ConditionDropout = 0.1, Seed = 4 });

        bool[] decisions = [.. Slots().Select(s => denoiser.IsDropped(s.Epoch, s.Batch, s.Position))];
        double rate = decisions.Average(d => d ? 1.0 : 0.0);
        Assert.InRange(rate, 0.09, 0.11); // 20,000 Bernoulli(0.1) draws: standard deviation 0.002
        Assert.Equal(decisions, Slots().Select(s => again.IsDropped(s.Epoch, s.Batch, s.Position)));
        Assert.NotEqual(decisions, Slots().Select(s => otherSeed.IsDropped(s.Epoch, s.Batch, s.Position)));

        using var never = new TextConditionedDenoiser(unet, new WordHashEncoder(), new ConditioningOptions { ConditionDropout = 0 });
        using var always = new TextConditionedDenoiser(unet, new WordHashEncoder(), new ConditioningOptions { ConditionDropout = 1 });
        Assert.DoesNotContain(Slots().Take(1000), s => never.IsDropped(s.Epoch, s.Batch, s.Position));
        Assert.All(Slots().Take(1000), s => Assert.True(always.IsDropped(s.Epoch, s.Batch, s.Position)));

        static IEnumerable<(int Epoch, int Batch, int Position)> Slots() =>
            from e in Enumerable.Range(0, 5) from b in Enumerable.Range(0, 125) from p in Enumerable.Range(0, 32) select (e, b, p);
    }

    [Fact]
    public void PredictConditionsOnCaptionsAndLabelsAndDropsToTheUnconditionalBranch()
    {
        using var scope = NewDisposeScope();
        using var unet = ConditionalSetup.Model(numClasses: 8);
        OpenConditioning(unet);
        var encoder = new WordHashEncoder();
        using var denoiser = new TextConditionedDenoiser(unet, encoder, new ConditioningOptions { ConditionDropout = 0.5, Seed = 1 });
        string?[] captions = ["a red tulip", "a white daisy", null, "a red tulip", "a blue aster", "a pink rose"];
        long[] labels = [0, 1, 2, 0, 2, 4];
        using ImageBatch batch = Batch(epoch: 2, index: 5, captions, labels);
        bool[] dropped = [.. Enumerable.Range(0, captions.Length).Select(k => denoiser.IsDropped(2, 5, k))];
        Assert.Contains(true, dropped);
        Assert.Contains(false, dropped);

        Tensor noisy = randn([6, 3, 16, 16], generator: new Generator(1));
        Tensor t = tensor(new long[] { 1, 100, 200, 300, 400, 999 });
        Tensor prediction = denoiser.Predict(noisy, t, batch);

        string[] texts = [.. captions.Select((c, k) => dropped[k] || c is null ? string.Empty : c)];
        long[] expectedLabels = [.. labels.Select((l, k) => dropped[k] ? 8L : l)];
        Tensor expected = unet.call(noisy, t, encoder.Encode(texts), tensor(expectedLabels));
        Assert.True(prediction.allclose(expected, rtol: 0, atol: 1e-6), "Predict is not the U-Net on the (dropped) captions and labels");
    }

    [Fact]
    public void CaptionEmbeddingsAreEncodedOnceAndCached()
    {
        using var scope = NewDisposeScope();
        using var unet = ConditionalSetup.Model();
        var encoder = new WordHashEncoder();
        using var denoiser = new TextConditionedDenoiser(unet, encoder, new ConditioningOptions { ConditionDropout = 0 });
        Tensor noisy = randn([3, 3, 16, 16]);
        Tensor t = tensor(new long[] { 1, 2, 3 });
        using (ImageBatch first = Batch(0, 0, ["a red tulip", "a red tulip", "a blue aster"]))
        {
            denoiser.Predict(noisy, t, first);
        }

        using (ImageBatch second = Batch(0, 1, ["a blue aster", "a pink rose", "a red tulip"]))
        {
            denoiser.Predict(noisy, t, second);
        }

        Assert.Equal([2, 1], encoder.BatchSizes); // two new captions, then one
        Assert.Equal(3, denoiser.CachedCaptions);

        using var uncached = new TextConditionedDenoiser(unet, encoder, new ConditioningOptions { ConditionDropout = 0, MaxCachedCaptions = 0 });
        using ImageBatch third = Batch(0, 2, ["a red tulip", "a red tulip", "a blue aster"]);
        Assert.True(uncached.Predict(noisy, t, third).allclose(denoiser.Predict(noisy, t, third), rtol: 0, atol: 0));
        Assert.Equal(0, uncached.CachedCaptions);
    }

    [Fact]
    public void MisfitsAreRefusedWithClearMessages()
    {
        using var scope = NewDisposeScope();
        using var classes = ConditionalSetup.Model(numClasses: 8);
        using var denoiser = new TextConditionedDenoiser(classes, new WordHashEncoder());
        using ImageBatch unlabelled = Batch(0, 0, ["a red tulip", "a red tulip"]);
        Assert.StartsWith("batch.Labels is null, but the U-Net is class-conditional",
            Assert.Throws<ArgumentException>(() => denoiser.Predict(randn(2, 3, 16, 16), tensor(new long[] { 1, 2 }), unlabelled)).Message, StringComparison.Ordinal);
        Assert.StartsWith("noisy must hold one image per batch item (2); got [3,3,16,16].",
            Assert.Throws<ArgumentException>(() => denoiser.Predict(randn(3, 3, 16, 16), tensor(new long[] { 1, 2, 3 }), unlabelled)).Message, StringComparison.Ordinal);
        Assert.Equal($"ConditioningOptions is invalid:{Environment.NewLine} - ConditionDropout must lie in [0, 1]; got 1.5{Environment.NewLine} - MaxCachedCaptions must be at least 0; got -1 (Parameter 'options')",
            Assert.Throws<ArgumentException>(() => new TextConditionedDenoiser(classes, new WordHashEncoder(), new ConditioningOptions { ConditionDropout = 1.5, MaxCachedCaptions = -1 })).Message);
        Assert.StartsWith("textEncoder is required",
            Assert.Throws<ArgumentException>(() => new TextConditionedDenoiser(classes, null)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheTrainerDrivesTheConditionalLossDownAndCheckpointsOnlyTheUNet()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        using var unet = ConditionalSetup.Model(numClasses: 8);
        using var denoiser = new TextConditionedDenoiser(unet, new WordHashEncoder());
        Trainer trainer = denoiser.CreateTrainer(TinySetup.Scheduler(), TinySetup.Options(dir.Path) with { MaxSteps = 24, BatchSize = 8, UseEma = false });
        TrainingResult result = trainer.Fit(TinySetup.Flowers(64));

        double first = result.Losses.Take(8).Average();
        double last = result.Losses.TakeLast(8).Average();
        Assert.True(last < 0.85 * first, $"loss fell only from {first:F4} to {last:F4}");
        Dictionary<string, Tensor> saved = TinySetup.ReadAll(result.LastCheckpoint!);
        string[] modelKeys = [.. saved.Keys.Where(k => k.StartsWith(TrainingCheckpoint.ModelPrefix, StringComparison.Ordinal))];
        Assert.Equal(unet.state_dict().Keys.Select(k => TrainingCheckpoint.ModelPrefix + k).Order(StringComparer.Ordinal), modelKeys.Order(StringComparer.Ordinal));
        Assert.Contains(TrainingCheckpoint.ModelPrefix + "mid_cross_attn.to_k.weight", modelKeys);
        Assert.Contains(TrainingCheckpoint.ModelPrefix + "class_embedding.weight", modelKeys);
        Assert.True(unet.state_dict()["mid_cross_attn.to_out.weight"].abs().sum().item<float>() > 0, "the cross-attention never opened");
    }

    [Fact]
    public void ResumedConditionalTrainingEqualsUninterruptedTrainingBitForBit()
    {
        // The dropout decisions depend on (seed, epoch, batch, position), not on how many steps this process has run.
        using var straight = TestEnvironment.CreateTempDirectory();
        using var split = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var data = TinySetup.Flowers(20);
        var options = new ConditioningOptions { ConditionDropout = 0.5, Seed = 7 };

        Run(straight.Path, 7, seed: 0);
        Run(split.Path, 3, seed: 0);
        TrainingResult resumed = Run(split.Path, 7, seed: 99);

        Assert.Equal(3, resumed.ResumedFromStep);
        TinySetup.AssertSameTensors(
            TinySetup.ReadAll(TrainingCheckpoint.FindLatest(straight.Path)!),
            TinySetup.ReadAll(TrainingCheckpoint.FindLatest(split.Path)!));

        TrainingResult Run(string path, int steps, long seed)
        {
            using var unet = ConditionalSetup.Model(seed, numClasses: 8);
            using var denoiser = new TextConditionedDenoiser(unet, new WordHashEncoder(), options);
            return denoiser.CreateTrainer(TinySetup.Scheduler(), TinySetup.Options(path) with { MaxSteps = steps }).Fit(data);
        }
    }

    private static void OpenConditioning(ConditionalUNet unet)
    {
        using var noGrad = no_grad();
        using var generator = new Generator(5);
        foreach ((string name, TorchSharp.Modules.Parameter p) in unet.named_parameters())
        {
            if (name.Contains("cross_attn.to_out", StringComparison.Ordinal) || name.StartsWith("class_embedding", StringComparison.Ordinal))
            {
                p.copy_(randn(p.shape, generator: generator) * 0.3);
            }
        }
    }
}
