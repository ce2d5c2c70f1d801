using Diffusion.Clip;
using Diffusion.Training;
using Microsoft.Extensions.Logging.Abstractions;

namespace Diffusion.Tests.Training;

/// <summary>
/// <see cref="ClipTrainerOptions"/> keeps CLIP's defaults (set by its constructor over the engine's
/// <see cref="TrainingOptions"/>) and its own rules.
/// </summary>
public sealed class ClipTrainerOptionsTests
{
    [Fact]
    public void DefaultsAreClipsWhereTheyDifferFromTheEngines()
    {
        var o = new ClipTrainerOptions();
        Assert.Equal(1, o.Epochs);
        Assert.Equal(1000, o.MaxSteps);
        Assert.Equal(0, o.InitialStep);
        Assert.Equal(10, o.MomentWarmupSteps);
        Assert.Null(o.MaxDuration);
        Assert.Equal(64, o.BatchSize);
        Assert.Equal(1, o.GradientAccumulationSteps);
        Assert.Equal(5e-4, o.LearningRate);
        Assert.Equal(0.9, o.Beta1);
        Assert.Equal(0.98, o.Beta2);
        Assert.Equal(0.2, o.WeightDecay);
        Assert.Equal(1e-6, o.AdamEpsilon);
        Assert.Equal(50, o.WarmupSteps);
        Assert.Equal(LearningRateSchedule.Cosine, o.LearningRateSchedule);
        Assert.Equal(1.0, o.MaxGradNorm);
        Assert.False(o.UseEma);
        Assert.Equal(0.9999, o.EmaDecay);
        Assert.Equal(0, o.Seed);
        Assert.Null(o.CheckpointDirectory);
        Assert.Equal(500, o.CheckpointEverySteps);
        Assert.Equal(3, o.KeepCheckpoints);
        Assert.Equal(NonFiniteLossPolicy.Stop, o.OnNonFiniteLoss);
        Assert.Equal(10, o.LogEverySteps);
        Assert.Same(NullLoggerFactory.Instance, o.LoggerFactory);
        Assert.Equal(ClipLossKind.Clip, o.Loss);
        Assert.False(o.RandomHorizontalFlip);
    }

    [Fact]
    public void InitializersAndWithOverrideTheConstructorsDefaults()
    {
        var o = new ClipTrainerOptions { LearningRate = 1e-3, UseEma = true, MaxSteps = null };
        Assert.Equal(1e-3, o.LearningRate);
        Assert.True(o.UseEma);
        Assert.Null(o.MaxSteps);
        ClipTrainerOptions copy = o with { Loss = ClipLossKind.SigLip };
        Assert.Equal(1e-3, copy.LearningRate);
        Assert.Equal(ClipLossKind.SigLip, copy.Loss);
        Assert.Equal(new ClipTrainerOptions { LearningRate = 1e-3, UseEma = true, MaxSteps = null, Loss = ClipLossKind.SigLip }, copy);
    }

    [Fact]
    public void ValidationNamesTheRecord()
    {
        var e = Assert.Throws<ArgumentException>(() => new ClipTrainerOptions { BatchSize = 1 }.Validate());
        Assert.StartsWith("ClipTrainerOptions is invalid:", e.Message, StringComparison.Ordinal);
        Assert.Contains("BatchSize must be at least 2 (a contrastive batch needs negatives); got 1", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("BatchSize must be at least 1", e.Message, StringComparison.Ordinal);
    }
}
