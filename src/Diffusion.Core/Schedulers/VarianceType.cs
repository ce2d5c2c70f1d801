namespace Diffusion.Schedulers;

/// <summary>The variance of the noise DDPM adds in a step (diffusers' <c>variance_type</c>).</summary>
/// <remarks>
/// diffusers also names <c>"fixed_large_log"</c>; its <c>DDPMScheduler.step</c> takes the square root of that
/// (negative) log-variance and returns NaN, so it is not offered here.
/// </remarks>
public enum VarianceType
{
    /// <summary>The posterior variance β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t (<c>"fixed_small"</c>).</summary>
    FixedSmall,

    /// <summary>β̃_t applied through exp(½·log β̃_t), used as the standard deviation itself (<c>"fixed_small_log"</c>, as diffusers does).</summary>
    FixedSmallLog,

    /// <summary>β_t, the forward-process variance (<c>"fixed_large"</c>).</summary>
    FixedLarge,

    /// <summary>The model predicts the variance in its second half of channels (<c>"learned"</c>).</summary>
    Learned,

    /// <summary>The model predicts v ∈ [−1, 1] in its second half of channels; log-variance = interpolation between log β̃_t and log β_t (<c>"learned_range"</c>, Nichol and Dhariwal).</summary>
    LearnedRange,
}
