using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="EulerAncestralDiscreteScheduler"/>: diffusers' <c>EulerAncestralDiscreteScheduler</c> config keys
/// in PascalCase, with diffusers' defaults. <see cref="SchedulerConfig"/> reads and writes them by their snake_case names.
/// <see cref="NoiseScheduleOptions.PredictionType"/> is <see cref="PredictionType.Epsilon"/> or
/// <see cref="PredictionType.VPrediction"/> (diffusers has no x0 prediction here).
/// </summary>
public sealed record EulerAncestralDiscreteSchedulerOptions : NoiseScheduleOptions
{
    /// <summary>Whether β is rescaled so the last timestep has zero SNR (<c>rescale_betas_zero_snr</c>, Lin et al. 2023).</summary>
    /// <value>The default value is false.</value>
    public bool RescaleBetasZeroSnr { get; init; }

    /// <inheritdoc/>
    internal override bool RescalesBetasToZeroSnr => RescaleBetasZeroSnr;

    /// <inheritdoc/>
    private protected override void AddOwnViolations(List<string> errors) =>
        OptionsRules.EpsilonOrV(PredictionType, nameof(EulerAncestralDiscreteScheduler), errors);
}
