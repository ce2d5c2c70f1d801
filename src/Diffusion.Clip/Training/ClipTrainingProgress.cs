namespace Diffusion.Clip;

/// <summary>One optimizer step of <see cref="ClipTrainer.Fit"/>, as reported to <see cref="IProgress{T}"/>.</summary>
/// <param name="Step">Optimizer steps completed so far (resumed steps included).</param>
/// <param name="TotalSteps">The step at which training stops, from <see cref="Diffusion.Training.TrainingOptions.MaxSteps"/> or the epochs.</param>
/// <param name="Loss">This step's loss.</param>
/// <param name="LearningRate">The learning rate used for this step.</param>
/// <param name="LogitScale">The temperature exp(<c>logit_scale</c>) after the step.</param>
/// <param name="Elapsed">Time since training started (this call).</param>
public sealed record ClipTrainingProgress(long Step, long TotalSteps, double Loss, double LearningRate, float LogitScale, TimeSpan Elapsed);
