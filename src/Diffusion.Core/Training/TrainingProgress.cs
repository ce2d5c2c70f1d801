namespace Diffusion.Training;

/// <summary>A report after each optimizer step.</summary>
/// <param name="Step">Optimizer steps completed so far (resumed steps included).</param>
/// <param name="TotalSteps">The step at which training stops, when known from the options; otherwise null.</param>
/// <param name="Epoch">The current epoch, 0-based.</param>
/// <param name="Loss">This step's loss.</param>
/// <param name="AverageLoss">Mean loss over the steps since the last log line.</param>
/// <param name="LearningRate">The learning rate this step used.</param>
/// <param name="ImagesPerSecond">Training throughput over this run so far.</param>
/// <param name="DataWait">Total time the training loop waited for the loader in this run.</param>
/// <param name="Elapsed">Wall time of this run so far.</param>
public sealed record TrainingProgress(
    long Step, long? TotalSteps, int Epoch, double Loss, double AverageLoss, double LearningRate,
    double ImagesPerSecond, TimeSpan DataWait, TimeSpan Elapsed);
