namespace Diffusion.Schedulers.Internal;

/// <summary>
/// The options every scheduler shares, as the internal helpers read them: how the training noise schedule is built and
/// the timesteps spaced. <see cref="NoiseScheduleOptions"/> implements it; <see cref="RescaleBetasZeroSnr"/> is false
/// for the schedulers without that option.
/// </summary>
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
