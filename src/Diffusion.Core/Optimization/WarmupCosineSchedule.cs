namespace Diffusion.Optimization;

/// <summary>
/// Learning rate with linear warm-up then half a cosine down to zero, stepped per optimizer step:
/// diffusers' <c>get_cosine_schedule_with_warmup</c> (num_cycles 0.5), which the book's training uses.
/// </summary>
public sealed class WarmupCosineSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="baseLearningRate">Peak learning rate, reached at the end of warm-up; positive.</param>
    /// <param name="warmupSteps">Steps of linear warm-up from 0; 0 or more.</param>
    /// <param name="totalSteps">Total optimizer steps; more than 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public WarmupCosineSchedule(double baseLearningRate, int warmupSteps, int totalSteps)
    {
        if (!(baseLearningRate > 0) || double.IsInfinity(baseLearningRate))
        {
            throw new ArgumentOutOfRangeException(nameof(baseLearningRate), baseLearningRate, "baseLearningRate must be a positive finite number.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        BaseLearningRate = baseLearningRate;
        WarmupSteps = warmupSteps;
        TotalSteps = totalSteps;
    }

    /// <summary>Peak learning rate.</summary>
    public double BaseLearningRate { get; }

    /// <summary>Steps of linear warm-up.</summary>
    public int WarmupSteps { get; }

    /// <summary>Total optimizer steps.</summary>
    public int TotalSteps { get; }

    /// <summary>The learning rate for the optimizer step with 0-based index <paramref name="step"/>.</summary>
    /// <param name="step">0-based step index; steps past <see cref="TotalSteps"/> give 0.</param>
    /// <returns>The learning rate.</returns>
    public double LearningRateAt(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step < WarmupSteps)
        {
            return BaseLearningRate * step / Math.Max(1, WarmupSteps);
        }

        // diffusers lets the cosine rise again past the end; we hold it at 0 there.
        double progress = Math.Min(1.0, (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps));
        return BaseLearningRate * Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * progress)));
    }
}
