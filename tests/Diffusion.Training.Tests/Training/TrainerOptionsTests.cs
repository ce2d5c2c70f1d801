using Diffusion.Data;
using Diffusion.Training;
using Microsoft.Extensions.Logging.Abstractions;

namespace Diffusion.Tests.Training;

/// <summary>
/// <see cref="TrainerOptions"/> keeps the book's defaults and its own rules now that the engine's settings live in
/// <see cref="TrainingOptions"/> (shared with ClipTrainerOptions, whose constructor sets CLIP's defaults).
/// </summary>
public sealed class TrainerOptionsTests
{
    [Fact]
    public void DefaultsAreTheBooks()
    {
        var o = new TrainerOptions();
        Assert.Equal(1, o.Epochs);
        Assert.Null(o.MaxSteps);
        Assert.Equal(0, o.InitialStep);
        Assert.Equal(20, o.MomentWarmupSteps);
        Assert.Null(o.MaxDuration);
        Assert.Equal(16, o.BatchSize);
        Assert.Equal(1, o.GradientAccumulationSteps);
        Assert.Equal(1e-4, o.LearningRate);
        Assert.Equal(0.95, o.Beta1);
        Assert.Equal(0.999, o.Beta2);
        Assert.Equal(1e-5, o.WeightDecay);
        Assert.Equal(1e-8, o.AdamEpsilon);
        Assert.Equal(300, o.WarmupSteps);
        Assert.Equal(LearningRateSchedule.Cosine, o.LearningRateSchedule);
        Assert.Equal(1.0, o.MaxGradNorm);
        Assert.True(o.UseEma);
        Assert.Equal(0.9999, o.EmaDecay);
        Assert.Equal(0, o.Seed);
        Assert.Null(o.CheckpointDirectory);
        Assert.Equal(500, o.CheckpointEverySteps);
        Assert.Equal(3, o.KeepCheckpoints);
        Assert.Equal(NonFiniteLossPolicy.Stop, o.OnNonFiniteLoss);
        Assert.Equal(100, o.LogEverySteps);
        Assert.Same(NullLoggerFactory.Instance, o.LoggerFactory);
        Assert.Equal(LossType.L1, o.Loss);
        Assert.Null(o.MinSnrGamma);
        Assert.False(o.BFloat16);
        Assert.Null(o.LoaderWorkers);
        Assert.True(o.RandomHorizontalFlip);
        Assert.Equal(DataErrorHandling.Throw, o.OnDataError);
        Assert.Null(o.Device);
    }

    [Fact]
    public void WithCopiesTheSharedAndTheOwnSettings()
    {
        TrainerOptions o = new TrainerOptions { LearningRate = 3e-4, BFloat16 = true } with { Seed = 7 };
        Assert.Equal(new TrainerOptions { LearningRate = 3e-4, BFloat16 = true, Seed = 7 }, o);
        Assert.NotEqual(o with { WarmupSteps = 1 }, o);
    }

    [Fact]
    public void ValidationNamesTheRecordAndListsItsOwnRulesAfterTheSharedOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => new TrainerOptions { Epochs = 0, LoaderWorkers = 0 }.Validate());
        Assert.StartsWith("TrainerOptions is invalid:", e.Message, StringComparison.Ordinal);
        int shared = e.Message.IndexOf("Epochs must be at least 1; got 0", StringComparison.Ordinal);
        int own = e.Message.IndexOf("LoaderWorkers must be at least 1 or null; got 0", StringComparison.Ordinal);
        Assert.InRange(shared, 0, own - 1);
    }
}
