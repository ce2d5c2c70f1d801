namespace Diffusion.Training;

/// <summary>What training does when a step's loss is NaN or infinite.</summary>
public enum NonFiniteLossPolicy
{
    /// <summary>Throw a <see cref="NonFiniteLossException"/> on a NaN or infinite loss or gradient norm, before the weights change; the last checkpoint stays as it was.</summary>
    Stop,

    /// <summary>
    /// Discard the step's gradients, log a warning, count it in <see cref="TrainingResult.SkippedSteps"/> and go on.
    /// Weights that are nonetheless not finite when a checkpoint is due still stop training with a <see cref="NonFiniteLossException"/>.
    /// </summary>
    SkipStep,
}
