using Diffusion.Clip;
using Diffusion.Training;

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

        // Set by the constructor over the engine's defaults (TrainerOptionsTests checks those once).
        Assert.Equal(((long?)1000, 10, 64, 5e-4, 0.9, 0.98, 0.2, 1e-6, 50, false, 10),
            (o.MaxSteps, o.MomentWarmupSteps, o.BatchSize, o.LearningRate, o.Beta1, o.Beta2, o.WeightDecay, o.AdamEpsilon, o.WarmupSteps, o.UseEma, o.LogEverySteps));

        // Inherited unchanged, and CLIP's own.
        Assert.Equal((1, 1, 0.9999, 500, 3), (o.Epochs, o.GradientAccumulationSteps, o.EmaDecay, o.CheckpointEverySteps, o.KeepCheckpoints));
        Assert.Equal((ClipLossKind.Clip, false), (o.Loss, o.RandomHorizontalFlip));
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
