using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// Options of <see cref="PNDMScheduler"/>: diffusers' <c>PNDMScheduler</c> config keys in PascalCase, with diffusers'
/// defaults. <see cref="SchedulerConfig"/> reads and writes them by their snake_case names. Stable Diffusion 1.x saves
/// <c>skip_prk_steps: true</c>, <c>steps_offset: 1</c>, <c>set_alpha_to_one: false</c> and its scaled-linear β.
/// <see cref="NoiseScheduleOptions.PredictionType"/> is <see cref="PredictionType.Epsilon"/> or
/// <see cref="PredictionType.VPrediction"/> (diffusers has no x0 prediction here).
/// </summary>
public sealed record PNDMSchedulerOptions : NoiseScheduleOptions
{
    /// <summary>Options at diffusers' defaults, among them <see cref="TimestepSpacing.Leading"/> spacing.</summary>
    public PNDMSchedulerOptions() => TimestepSpacing = TimestepSpacing.Leading;

    /// <summary>
    /// Whether the Runge–Kutta warm-up (three steps of four model calls) is skipped, so that linear multistep runs from
    /// the start with a second-order first step (<c>skip_prk_steps</c>; Stable Diffusion saves true).
    /// </summary>
    /// <value>The default value is false.</value>
    public bool SkipPrkSteps { get; init; }

    /// <summary>Whether the last step ends at ᾱ = 1 (true) or at ᾱ_0 (false) (<c>set_alpha_to_one</c>).</summary>
    /// <value>The default value is false.</value>
    public bool SetAlphaToOne { get; init; }

    /// <inheritdoc/>
    private protected override void AddOwnViolations(List<string> errors) =>
        OptionsRules.EpsilonOrV(PredictionType, nameof(PNDMScheduler), errors);
}
