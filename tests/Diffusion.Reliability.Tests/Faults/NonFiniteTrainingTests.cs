using Diffusion.Data;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Tests.Support;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Faults;

/// <summary>
/// NaN and ∞ arriving other ways than a NaN image (which Diffusion.Training.Tests covers): a gradient that is
/// NaN while the loss is finite, weights that turn NaN mid-run, an infinite prediction. Training stops (or
/// skips the step) as <see cref="TrainingOptions.OnNonFiniteLoss"/> says, and no checkpoint is ever written
/// with non-finite weights, so the last good one stays the latest and is never rotated away.
/// </summary>
public sealed class NonFiniteTrainingTests
{
    [Fact]
    public void ANaNGradientWithAFiniteLossStopsBeforeTheWeightsAreTouched()
    {
        using TempDirectory dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var unet = Tiny.UNet();
        var e = Assert.Throws<NonFiniteLossException>(() => PoisonedGradientTrainer(unet, poisonedCall: 3, Tiny.Options(dir.Path) with { MaxSteps = 8 }).Fit(Tiny.Flowers()));

        Assert.Equal(3, e.Step);
        Assert.True(double.IsFinite(e.Loss), $"the loss {e.Loss} should be finite: only the gradient is NaN");
        Assert.Contains("gradient", e.Message, StringComparison.Ordinal);
        AssertLatestIsFinite(dir.Path, expectedStep: 3);
    }

    [Fact]
    public void ANaNGradientIsSkippedUnderSkipStep()
    {
        using var scope = NewDisposeScope();
        var unet = Tiny.UNet();
        TrainingResult result = PoisonedGradientTrainer(unet, poisonedCall: 3, Tiny.Options() with { MaxSteps = 6, OnNonFiniteLoss = NonFiniteLossPolicy.SkipStep })
            .Fit(Tiny.Flowers());

        Assert.Equal(6, result.Steps);
        Assert.Equal(1, result.SkippedSteps);
        Assert.All(unet.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }

    [Theory]
    [InlineData(NonFiniteLossPolicy.Stop)]
    [InlineData(NonFiniteLossPolicy.SkipStep)]
    public void WeightsTurnedNaNMidRunAreNeverCheckpointed(NonFiniteLossPolicy policy)
    {
        using TempDirectory dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var unet = Tiny.UNet();
        string? good = null;
        byte[]? goodBytes = null;
        var progress = new SynchronousProgress<TrainingProgress>(p =>
        {
            if (p.Step == 3)
            {
                // Between the report and the checkpoint of step 3: as if an update had gone wrong.
                good = TrainingCheckpoint.FindLatest(dir.Path);
                goodBytes = File.ReadAllBytes(good!);
                using var noGrad = no_grad();
                unet.parameters().First().fill_(float.NaN);
            }
        });

        var e = Assert.Throws<NonFiniteLossException>(() =>
            new Trainer(unet, Tiny.Scheduler(), Tiny.Options(dir.Path) with { MaxSteps = 8, KeepCheckpoints = 1, OnNonFiniteLoss = policy }).Fit(Tiny.Flowers(), progress));

        Assert.Equal(3, e.Step);
        Assert.Contains("not written", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("checkpoint-00000002.safetensors", good, StringComparison.Ordinal);
        Assert.Equal(good, TrainingCheckpoint.FindLatest(dir.Path));
        Assert.Equal(goodBytes, File.ReadAllBytes(good!));
    }

    [Fact]
    public void AnInfinitePredictionStopsWithTheStepAndTheLoss()
    {
        using TempDirectory dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var unet = Tiny.UNet();
        int calls = 0;
        var trainer = new Trainer(unet, (x, t, _) => calls++ == 2 ? unet.call(x, t) * float.PositiveInfinity : unet.call(x, t), Tiny.Scheduler(), Tiny.Options(dir.Path) with { MaxSteps = 5 });
        var e = Assert.Throws<NonFiniteLossException>(() => trainer.Fit(Tiny.Flowers()));

        Assert.Equal(2, e.Step);
        Assert.True(double.IsPositiveInfinity(e.Loss) || double.IsNaN(e.Loss));
        AssertLatestIsFinite(dir.Path, expectedStep: 2);
    }

    [Fact]
    public void ASkippedStepLeavesTheWeightsBitIdentical()
    {
        using TempDirectory dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var unet = Tiny.UNet();
        int calls = 0;
        var trainer = new Trainer(unet, (x, t, _) => calls++ == 2 ? unet.call(x, t) * float.NaN : unet.call(x, t), Tiny.Scheduler(),
            Tiny.Options(dir.Path) with { MaxSteps = 4, KeepCheckpoints = 4, OnNonFiniteLoss = NonFiniteLossPolicy.SkipStep });
        TrainingResult result = trainer.Fit(Tiny.Flowers());

        Assert.Equal(1, result.SkippedSteps);
        Dictionary<string, Tensor> before = SafeTensors.Load(Path.Combine(dir.Path, "checkpoint-00000002.safetensors"));
        Dictionary<string, Tensor> after = SafeTensors.Load(Path.Combine(dir.Path, "checkpoint-00000003.safetensors"));
        Tiny.AssertSameTensors(
            before.Where(p => !p.Key.StartsWith("rng.", StringComparison.Ordinal)).ToDictionary(),
            after.Where(p => !p.Key.StartsWith("rng.", StringComparison.Ordinal)).ToDictionary()); // only the noise generator moved on
    }

    // The model's output plus 0·Σ√(w − w): 0 forward, but √ at 0 has an infinite slope, so 0·∞ = NaN in every gradient of w.
    private static Trainer PoisonedGradientTrainer(UNet unet, int poisonedCall, TrainerOptions options)
    {
        int calls = 0;
        Tensor Predict(Tensor x, Tensor t, ImageBatch batch)
        {
            Tensor y = unet.call(x, t);
            if (calls++ != poisonedCall)
            {
                return y;
            }

            Tensor w = unet.parameters().First();
            return y + (0 * (w - w.detach()).sqrt().sum());
        }

        return new Trainer(unet, Predict, Tiny.Scheduler(), options);
    }

    private static void AssertLatestIsFinite(string directory, long expectedStep)
    {
        string latest = TrainingCheckpoint.FindLatest(directory)!;
        Assert.EndsWith($"checkpoint-{expectedStep:D8}.safetensors", latest, StringComparison.Ordinal);
        foreach ((string name, Tensor t) in SafeTensors.Load(latest))
        {
            Assert.True(!t.is_floating_point() || t.isfinite().all().item<bool>(), $"{name} is not finite in {latest}");
        }
    }
}
