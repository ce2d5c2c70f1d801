using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="LmsDiscreteScheduler"/>: diffusers' <c>LMSDiscreteScheduler</c> config keys in PascalCase, with
/// diffusers' defaults, and <see cref="LmsOrder"/> (diffusers' <c>step(order=4)</c> argument). <see cref="SchedulerConfig"/>
/// reads and writes them by their snake_case names.
/// </summary>
public sealed record LmsDiscreteSchedulerOptions : NoiseScheduleOptions
{
    /// <summary>Whether σ follows Karras et al. 2022 (EDM, ρ = 7) between the schedule's smallest and largest σ (<c>use_karras_sigmas</c>).</summary>
    /// <value>The default value is false.</value>
    public bool UseKarrasSigmas { get; init; }

    /// <summary>Whether σ are evenly spaced in log σ between the schedule's smallest and largest σ (<c>use_exponential_sigmas</c>); not with <see cref="UseKarrasSigmas"/>.</summary>
    /// <value>The default value is false.</value>
    public bool UseExponentialSigmas { get; init; }

    /// <summary>
    /// The order of the linear multistep method, 1 to 4: how many past derivatives each step combines (our extra key
    /// <c>lms_order</c>; diffusers takes it as <c>step(order=…)</c>, default 4, and ignores the key in a config).
    /// </summary>
    /// <value>The default value is 4.</value>
    public int LmsOrder { get; init; } = 4;

    /// <inheritdoc/>
    private protected override void AddOwnViolations(List<string> errors)
    {
        OptionsRules.OneSigmaSpread(UseKarrasSigmas, UseExponentialSigmas, errors);
        if (LmsOrder is < 1 or > 4)
        {
            errors.Add($"LmsOrder (lms_order) must be 1, 2, 3 or 4; got {LmsOrder}");
        }
    }
}
