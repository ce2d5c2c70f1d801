using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="HeunDiscreteScheduler"/>: diffusers' <c>HeunDiscreteScheduler</c> config keys in PascalCase, with
/// diffusers' defaults (note β from 0.00085 to 0.012, Stable Diffusion's range). <see cref="SchedulerConfig"/> reads and
/// writes them by their snake_case names. diffusers' <c>beta_schedule</c> <c>"exp"</c> is not available here.
/// </summary>
public sealed record HeunDiscreteSchedulerOptions : NoiseScheduleOptions
{
    /// <summary>Options at diffusers' defaults, among them β from 0.00085 to 0.012.</summary>
    public HeunDiscreteSchedulerOptions()
    {
        BetaStart = 0.00085;
        BetaEnd = 0.012;
    }

    /// <summary>Whether σ follows Karras et al. 2022 (EDM, ρ = 7) between the schedule's smallest and largest σ (<c>use_karras_sigmas</c>).</summary>
    /// <value>The default value is false.</value>
    public bool UseKarrasSigmas { get; init; }

    /// <summary>Whether σ are evenly spaced in log σ between the schedule's smallest and largest σ (<c>use_exponential_sigmas</c>); not with <see cref="UseKarrasSigmas"/>.</summary>
    /// <value>The default value is false.</value>
    public bool UseExponentialSigmas { get; init; }

    /// <summary>Whether the predicted x0 is clipped to ±<see cref="ClipSampleRange"/> (<c>clip_sample</c>).</summary>
    /// <value>The default value is false.</value>
    public bool ClipSample { get; init; }

    /// <summary>The clipping bound when <see cref="ClipSample"/> is on (<c>clip_sample_range</c>).</summary>
    /// <value>The default value is 1.0.</value>
    public double ClipSampleRange { get; init; } = 1.0;

    /// <inheritdoc/>
    private protected override void AddOwnViolations(List<string> errors)
    {
        OptionsRules.OneSigmaSpread(UseKarrasSigmas, UseExponentialSigmas, errors);
        OptionsRules.Clipping(ClipSample, ClipSampleRange, thresholding: false, 0, 0, errors);
    }
}
