namespace Diffusion.Training;

/// <summary>What training does when a step's loss is NaN or infinite.</summary>
public enum NonFiniteLossPolicy
{
    /// <summary>Throw a <see cref="NonFiniteLossException"/>; the last checkpoint stays as it was.</summary>
    Stop,

    /// <summary>Discard the step's gradients, log a warning, count it in <see cref="TrainingResult.SkippedSteps"/> and go on.</summary>
    SkipStep,
}
