using System.Globalization;
using Diffusion.Internal;

namespace Diffusion.Training;

/// <summary>How a <see cref="TextConditionedDenoiser"/> conditions a <c>ConditionalUNet</c> during training.</summary>
public sealed record ConditioningOptions
{
    /// <summary>
    /// Probability that an item is trained unconditionally: its caption replaced by "" (and its class label by the
    /// "no class" label), so that one model learns both branches classifier-free guidance needs.
    /// </summary>
    /// <value>The default value is 0.1 (Ho &amp; Salimans use 0.1–0.2; Stable Diffusion 0.1).</value>
    public double ConditionDropout { get; init; } = 0.1;

    /// <summary>Seed of the dropout decisions, which depend on (seed, epoch, batch index, position in the batch) only.</summary>
    /// <value>The default value is 0.</value>
    public long Seed { get; init; }

    /// <summary>Most captions whose text embeddings are kept (the encoder is frozen, so a caption always gives the same
    /// embeddings); further captions are encoded every time. 0 turns the cache off.</summary>
    /// <value>The default value is 4096.</value>
    public int MaxCachedCaptions { get; init; } = 4096;

    /// <summary>Lists every rule these options break; empty when they are valid.</summary>
    /// <returns>One message per violation.</returns>
    public IReadOnlyList<string> GetViolations()
    {
        var errors = new List<string>();
        OptionsValidation.Check(errors, ConditionDropout is >= 0 and <= 1, string.Create(CultureInfo.InvariantCulture, $"ConditionDropout must lie in [0, 1]; got {ConditionDropout}."));

        OptionsValidation.Check(errors, MaxCachedCaptions >= 0, $"MaxCachedCaptions must be at least 0; got {MaxCachedCaptions}.");

        return errors;
    }

    /// <summary>Throws when these options break any rule, listing all of them.</summary>
    /// <exception cref="ArgumentException">At least one rule is broken.</exception>
    public void Validate()
    {
        OptionsValidation.ThrowIfAny(nameof(ConditioningOptions), GetViolations());
    }
}
