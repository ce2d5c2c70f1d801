namespace Diffusion.Training;

/// <summary>The validation of the options both trainers share (<see cref="ITrainingOptions"/>): one rule and one message format for both.</summary>
internal static class TrainingOptionsRules
{
    /// <summary>Every violation of the shared options, one message each ("Name must …; got …."), in declaration order.</summary>
    public static List<string> GetViolations(ITrainingOptions o)
    {
        var errors = new List<string>();
        void Check(bool ok, string message)
        {
            if (!ok)
            {
                errors.Add(message);
            }
        }

        Check(o.Epochs >= 1, $"Epochs must be at least 1; got {o.Epochs}.");
        Check(o.MaxSteps is null or >= 1, $"MaxSteps must be at least 1 or null; got {o.MaxSteps}.");
        Check(o.InitialStep >= 0, $"InitialStep must be 0 or more; got {o.InitialStep}.");
        Check(o.MomentWarmupSteps >= 0, $"MomentWarmupSteps must be 0 or more; got {o.MomentWarmupSteps}.");
        Check(o.MaxDuration is null || o.MaxDuration > TimeSpan.Zero, $"MaxDuration must be positive or null; got {o.MaxDuration}.");
        Check(o.BatchSize >= 1, $"BatchSize must be at least 1; got {o.BatchSize}.");
        Check(o.GradientAccumulationSteps >= 1, $"GradientAccumulationSteps must be at least 1; got {o.GradientAccumulationSteps}.");
        Check(o.LearningRate > 0 && double.IsFinite(o.LearningRate), $"LearningRate must be positive and finite; got {o.LearningRate}.");
        Check(o.Beta1 is >= 0 and < 1, $"Beta1 must be in [0, 1); got {o.Beta1}.");
        Check(o.Beta2 is >= 0 and < 1, $"Beta2 must be in [0, 1); got {o.Beta2}.");
        Check(o.WeightDecay >= 0, $"WeightDecay must be 0 or more; got {o.WeightDecay}.");
        Check(o.AdamEpsilon > 0, $"AdamEpsilon must be positive; got {o.AdamEpsilon}.");
        Check(o.WarmupSteps >= 0, $"WarmupSteps must be 0 or more; got {o.WarmupSteps}.");
        Check(Enum.IsDefined(o.LearningRateSchedule), $"LearningRateSchedule must be Cosine or Constant; got {(int)o.LearningRateSchedule}.");
        Check(o.MaxGradNorm is null or > 0, $"MaxGradNorm must be positive or null; got {o.MaxGradNorm}.");
        Check(o.EmaDecay is > 0 and < 1, $"EmaDecay must be in (0, 1); got {o.EmaDecay}.");
        Check(o.CheckpointEverySteps >= 1, $"CheckpointEverySteps must be at least 1; got {o.CheckpointEverySteps}.");
        Check(o.KeepCheckpoints >= 1, $"KeepCheckpoints must be at least 1; got {o.KeepCheckpoints}.");
        Check(Enum.IsDefined(o.OnNonFiniteLoss), $"OnNonFiniteLoss must be Stop or SkipStep; got {(int)o.OnNonFiniteLoss}.");
        Check(o.LogEverySteps >= 1, $"LogEverySteps must be at least 1; got {o.LogEverySteps}.");
        Check(o.LoggerFactory is not null, "LoggerFactory must not be null.");
        return errors;
    }

    /// <summary>Throws one <see cref="ArgumentException"/> listing <paramref name="errors"/>, if there is any (the trainers' one message format).</summary>
    public static void ThrowIfAny(string what, List<string> errors)
    {
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid {what} options: " + string.Join(" ", errors));
        }
    }
}
