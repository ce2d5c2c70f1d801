namespace Diffusion.Training;

/// <summary>
/// The settings of the training engine (<see cref="TrainingLoop{TBatch}"/>): what <c>TrainerOptions</c> and
/// <c>ClipTrainerOptions</c> share, under the same names. Each trainer's options record maps itself onto this
/// and validates the shared part here, so the names, ranges and messages are the same for both.
/// </summary>
internal sealed record EngineOptions
{
    public int Epochs { get; init; } = 1;

    public long? MaxSteps { get; init; }

    public long InitialStep { get; init; }

    public int MomentWarmupSteps { get; init; }

    public TimeSpan? MaxDuration { get; init; }

    public int BatchSize { get; init; } = 1;

    public int GradientAccumulationSteps { get; init; } = 1;

    public double LearningRate { get; init; } = 1e-4;

    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.999;

    public double WeightDecay { get; init; }

    public double AdamEpsilon { get; init; } = 1e-8;

    public int WarmupSteps { get; init; }

    public LearningRateSchedule LearningRateSchedule { get; init; } = LearningRateSchedule.Cosine;

    public double? MaxGradNorm { get; init; }

    public bool UseEma { get; init; }

    public double EmaDecay { get; init; } = 0.9999;

    public bool BFloat16 { get; init; }

    public long Seed { get; init; }

    public string? CheckpointDirectory { get; init; }

    public int CheckpointEverySteps { get; init; } = 500;

    public int KeepCheckpoints { get; init; } = 3;

    public NonFiniteLossPolicy OnNonFiniteLoss { get; init; }

    public int LogEverySteps { get; init; } = 100;

    /// <summary>Every violation of the shared options, one message each ("Name must …; got …."), in declaration order.</summary>
    public List<string> GetViolations()
    {
        var errors = new List<string>();
        void Check(bool ok, string message)
        {
            if (!ok)
            {
                errors.Add(message);
            }
        }

        Check(Epochs >= 1, $"Epochs must be at least 1; got {Epochs}.");
        Check(MaxSteps is null or >= 1, $"MaxSteps must be at least 1 or null; got {MaxSteps}.");
        Check(InitialStep >= 0, $"InitialStep must be 0 or more; got {InitialStep}.");
        Check(MomentWarmupSteps >= 0, $"MomentWarmupSteps must be 0 or more; got {MomentWarmupSteps}.");
        Check(MaxDuration is null || MaxDuration > TimeSpan.Zero, $"MaxDuration must be positive or null; got {MaxDuration}.");
        Check(BatchSize >= 1, $"BatchSize must be at least 1; got {BatchSize}.");
        Check(GradientAccumulationSteps >= 1, $"GradientAccumulationSteps must be at least 1; got {GradientAccumulationSteps}.");
        Check(LearningRate > 0 && double.IsFinite(LearningRate), $"LearningRate must be positive and finite; got {LearningRate}.");
        Check(Beta1 is >= 0 and < 1, $"Beta1 must be in [0, 1); got {Beta1}.");
        Check(Beta2 is >= 0 and < 1, $"Beta2 must be in [0, 1); got {Beta2}.");
        Check(WeightDecay >= 0, $"WeightDecay must be 0 or more; got {WeightDecay}.");
        Check(AdamEpsilon > 0, $"AdamEpsilon must be positive; got {AdamEpsilon}.");
        Check(WarmupSteps >= 0, $"WarmupSteps must be 0 or more; got {WarmupSteps}.");
        Check(Enum.IsDefined(LearningRateSchedule), $"LearningRateSchedule must be Cosine or Constant; got {(int)LearningRateSchedule}.");
        Check(MaxGradNorm is null or > 0, $"MaxGradNorm must be positive or null; got {MaxGradNorm}.");
        Check(EmaDecay is > 0 and < 1, $"EmaDecay must be in (0, 1); got {EmaDecay}.");
        Check(CheckpointEverySteps >= 1, $"CheckpointEverySteps must be at least 1; got {CheckpointEverySteps}.");
        Check(KeepCheckpoints >= 1, $"KeepCheckpoints must be at least 1; got {KeepCheckpoints}.");
        Check(Enum.IsDefined(OnNonFiniteLoss), $"OnNonFiniteLoss must be Stop or SkipStep; got {(int)OnNonFiniteLoss}.");
        Check(LogEverySteps >= 1, $"LogEverySteps must be at least 1; got {LogEverySteps}.");
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
