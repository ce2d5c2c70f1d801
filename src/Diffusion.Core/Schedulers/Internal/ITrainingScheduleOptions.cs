namespace Diffusion.Schedulers.Internal;

/// <summary>The options every scheduler shares: how the training noise schedule is built.</summary>
internal interface ITrainingScheduleOptions
{
    int NumTrainTimesteps { get; }

    double BetaStart { get; }

    double BetaEnd { get; }

    BetaSchedule BetaSchedule { get; }

    IReadOnlyList<double>? TrainedBetas { get; }

    bool RescaleBetasZeroSnr { get; }

    PredictionType PredictionType { get; }

    TimestepSpacing TimestepSpacing { get; }

    int StepsOffset { get; }
}
