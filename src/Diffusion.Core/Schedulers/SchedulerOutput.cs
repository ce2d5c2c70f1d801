namespace Diffusion.Schedulers;

/// <summary>The result of one scheduler step. Both tensors are owned by the caller.</summary>
/// <param name="PrevSample">The sample at the previous timestep, x_{t-1}.</param>
/// <param name="PredOriginalSample">The predicted clean sample x0, where the scheduler computes it.</param>
public sealed record SchedulerOutput(Tensor PrevSample, Tensor? PredOriginalSample);
