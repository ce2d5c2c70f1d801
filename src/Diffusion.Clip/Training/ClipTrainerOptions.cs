using Diffusion.Training;
using Diffusion.Internal;

namespace Diffusion.Clip;

/// <summary>
/// Settings of <see cref="ClipTrainer"/>: the training engine's settings (<see cref="TrainingOptions"/>, shared with
/// <c>TrainerOptions</c>: same name, same meaning, same rules) and CLIP's own (the loss, the flips). The defaults
/// follow CLIP's paper (AdamW β₂ 0.98, ε 1e-6, weight decay 0.2) scaled to small runs; the constructor sets those
/// that differ from the engine's.
/// </summary>
public sealed record ClipTrainerOptions : TrainingOptions
{
    /// <summary>Creates the options with CLIP's defaults where they differ from the engine's (each named on its property).</summary>
    public ClipTrainerOptions()
    {
        MaxSteps = 1000;
        MomentWarmupSteps = 10;
        BatchSize = 64;
        LearningRate = 5e-4;
        Beta1 = 0.9;
        Beta2 = 0.98;
        WeightDecay = 0.2;
        AdamEpsilon = 1e-6;
        WarmupSteps = 50;
        UseEma = false;
        LogEverySteps = 10;
    }

    /// <summary>The objective.</summary>
    /// <value>The default value is <see cref="ClipLossKind.Clip"/>.</value>
    public ClipLossKind Loss { get; init; } = ClipLossKind.Clip;

    /// <summary>Flip each training image left–right with probability ½ (only where that keeps captions true).</summary>
    /// <value>The default value is false.</value>
    public bool RandomHorizontalFlip { get; init; }

    private protected override void AddViolations(List<string> errors)
    {
        base.AddViolations(errors);
        OptionsValidation.Check(errors, BatchSize >= 2, $"BatchSize must be at least 2 (a contrastive batch needs negatives); got {BatchSize}.");
        OptionsValidation.Check(errors, Enum.IsDefined(Loss), $"Loss must be Clip or SigLip; got {(int)Loss}.");
    }
}
