namespace Diffusion.Clip;

/// <summary>What <see cref="ClipTrainer.Fit"/> did.</summary>
/// <param name="Steps">Optimizer steps completed in total (including steps before a resume).</param>
/// <param name="Losses">Loss of each step run by this call, in order.</param>
/// <param name="Elapsed">Wall-clock time of this call.</param>
/// <param name="Cancelled">True when the cancellation token stopped training early (a resumable checkpoint was saved if a folder was set).</param>
/// <param name="StoppedByTimeLimit">True when <see cref="Diffusion.Training.TrainingOptions.MaxDuration"/> ended training early.</param>
/// <param name="LastCheckpoint">Path of the newest checkpoint written or resumed from, or null.</param>
/// <param name="ResumedFromStep">The checkpoint step this call resumed from, or null when it started fresh.</param>
public sealed record ClipTrainingResult(long Steps, IReadOnlyList<float> Losses, TimeSpan Elapsed, bool Cancelled, bool StoppedByTimeLimit, string? LastCheckpoint, long? ResumedFromStep = null)
{
    /// <summary>Mean loss over the last (up to) 20 steps of this call, or NaN when none ran.</summary>
    public float RecentLoss => Losses.Count == 0 ? float.NaN : Losses.Skip(Math.Max(0, Losses.Count - 20)).Average();
}
