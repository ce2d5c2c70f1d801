namespace Diffusion.Training;

/// <summary>What a call to <c>Trainer.Fit</c> did (the training engine's result, which <c>ClipTrainer.Fit</c> reports as <c>ClipTrainingResult</c>).</summary>
/// <param name="Steps">Optimizer steps completed in total (resumed steps included).</param>
/// <param name="StepsThisRun">Optimizer steps this call made.</param>
/// <param name="ResumedFromStep">The checkpoint step this call resumed from, or null when it started fresh.</param>
/// <param name="FinalLoss">Mean loss over the last logged window (NaN when no step ran).</param>
/// <param name="Losses">Loss of every step this call made, in order.</param>
/// <param name="SkippedSteps">Steps discarded for a non-finite loss (<see cref="NonFiniteLossPolicy.SkipStep"/>).</param>
/// <param name="Cancelled">True when the cancellation token stopped training (a checkpoint was saved if a directory was set).</param>
/// <param name="LastCheckpoint">Path of the newest checkpoint written, or null.</param>
/// <param name="Elapsed">Wall time of this call.</param>
/// <param name="DataWait">Time the loop waited for data in this call.</param>
public sealed record TrainingResult(
    long Steps, long StepsThisRun, long? ResumedFromStep, double FinalLoss, IReadOnlyList<float> Losses,
    int SkippedSteps, bool Cancelled, string? LastCheckpoint, TimeSpan Elapsed, TimeSpan DataWait);
