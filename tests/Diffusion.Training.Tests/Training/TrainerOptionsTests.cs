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

        // The engine's settings (TrainingOptions): run length, optimizer and schedule, EMA, checkpoints and logging.
        Assert.Equal((1, (long?)null, 0L, 20, (TimeSpan?)null, 16, 1),
            (o.Epochs, o.MaxSteps, o.InitialStep, o.MomentWarmupSteps, o.MaxDuration, o.BatchSize, o.GradientAccumulationSteps));
        Assert.Equal((1e-4, 0.95, 0.999, 1e-5, 1e-8, 300, LearningRateSchedule.Cosine, (double?)1.0),
            (o.LearningRate, o.Beta1, o.Beta2, o.WeightDecay, o.AdamEpsilon, o.WarmupSteps, o.LearningRateSchedule, o.MaxGradNorm));
        Assert.Equal((true, 0.9999, 0L, (string?)null, 500, 3, NonFiniteLossPolicy.Stop, 100),
            (o.UseEma, o.EmaDecay, o.Seed, o.CheckpointDirectory, o.CheckpointEverySteps, o.KeepCheckpoints, o.OnNonFiniteLoss, o.LogEverySteps));
        Assert.Same(NullLoggerFactory.Instance, o.LoggerFactory);

        // The denoising trainer's own.
        Assert.Equal((LossType.L1, (double?)null, false, (int?)null, true, DataErrorHandling.Throw),
            (o.Loss, o.MinSnrGamma, o.BFloat16, o.LoaderWorkers, o.RandomHorizontalFlip, o.OnDataError));
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
