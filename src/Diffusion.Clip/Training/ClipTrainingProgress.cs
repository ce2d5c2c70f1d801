namespace Diffusion.Clip;

/// <summary>One optimizer step of <see cref="ClipTrainer.Fit"/>, as reported to <see cref="IProgress{T}"/>.</summary>
/// <param name="Step">Steps completed (1-based).</param>
/// <param name="TotalSteps">Steps the schedule runs for.</param>
/// <param name="Loss">This step's loss.</param>
/// <param name="LearningRate">The learning rate used for this step.</param>
/// <param name="LogitScale">The temperature exp(<c>logit_scale</c>) after the step.</param>
/// <param name="Elapsed">Time since training started (this call).</param>
public sealed record ClipTrainingProgress(int Step, int TotalSteps, float Loss, double LearningRate, float LogitScale, TimeSpan Elapsed);
