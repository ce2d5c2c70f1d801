using Microsoft.Extensions.Logging;

namespace Diffusion.Training;

/// <summary>
/// The options the training engine (<see cref="TrainingLoop{TBatch}"/>) reads: what <c>TrainerOptions</c> and
/// <c>ClipTrainerOptions</c> share, under the same names and types. Each record keeps its own defaults and
/// documentation; <see cref="TrainingOptionsRules"/> checks the shared part for both, with one rule and one
/// message per option.
/// </summary>
internal interface ITrainingOptions
{
    int Epochs { get; }

    long? MaxSteps { get; }

    long InitialStep { get; }

    int MomentWarmupSteps { get; }

    TimeSpan? MaxDuration { get; }

    int BatchSize { get; }

    int GradientAccumulationSteps { get; }

    double LearningRate { get; }

    double Beta1 { get; }

    double Beta2 { get; }

    double WeightDecay { get; }

    double AdamEpsilon { get; }

    int WarmupSteps { get; }

    LearningRateSchedule LearningRateSchedule { get; }

    double? MaxGradNorm { get; }

    bool UseEma { get; }

    double EmaDecay { get; }

    long Seed { get; }

    string? CheckpointDirectory { get; }

    int CheckpointEverySteps { get; }

    int KeepCheckpoints { get; }

    NonFiniteLossPolicy OnNonFiniteLoss { get; }

    int LogEverySteps { get; }

    ILoggerFactory LoggerFactory { get; }
}
