using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="EulerDiscreteScheduler"/>: diffusers' <c>EulerDiscreteScheduler</c> config keys in PascalCase, with
/// diffusers' defaults. <see cref="SchedulerConfig"/> reads and writes them by their snake_case names.
/// </summary>
public sealed record EulerDiscreteSchedulerOptions : NoiseScheduleOptions
{
    /// <summary>How the σ of the inference timesteps is computed (<c>interpolation_type</c>).</summary>
    /// <value>The default value is <see cref="InterpolationType.Linear"/>.</value>
    public InterpolationType InterpolationType { get; init; } = InterpolationType.Linear;

    /// <summary>Whether σ follows Karras et al. 2022 (EDM, ρ = 7) between <see cref="SigmaMin"/> and <see cref="SigmaMax"/> (<c>use_karras_sigmas</c>).</summary>
    /// <value>The default value is false.</value>
    public bool UseKarrasSigmas { get; init; }

    /// <summary>The smallest σ of a Karras schedule; null takes the schedule's (<c>sigma_min</c>).</summary>
    /// <value>The default value is null.</value>
    public double? SigmaMin { get; init; }

    /// <summary>The largest σ of a Karras schedule; null takes the schedule's (<c>sigma_max</c>).</summary>
    /// <value>The default value is null.</value>
    public double? SigmaMax { get; init; }

    /// <summary>Whether β is rescaled so the last timestep has zero SNR (<c>rescale_betas_zero_snr</c>, Lin et al. 2023).</summary>
    /// <value>The default value is false.</value>
    public bool RescaleBetasZeroSnr { get; init; }

    /// <summary>Where the last step ends: σ = 0 or the smallest training σ (<c>final_sigmas_type</c>).</summary>
    /// <value>The default value is <see cref="FinalSigmasType.Zero"/>.</value>
    public FinalSigmasType FinalSigmasType { get; init; } = FinalSigmasType.Zero;

    /// <inheritdoc/>
    internal override bool RescalesBetasToZeroSnr => RescaleBetasZeroSnr;

    /// <inheritdoc/>
    private protected override void AddOwnViolations(List<string> errors)
    {
        OptionsRules.Defined(InterpolationType, "InterpolationType", "interpolation_type", errors);
        OptionsRules.Defined(FinalSigmasType, "FinalSigmasType", "final_sigmas_type", errors);
        OptionsRules.SigmaBounds(SigmaMin, SigmaMax, errors);
    }
}
