namespace Diffusion.Schedulers;

/// <summary>How the noise variances β_t are laid out over the training timesteps (diffusers' <c>beta_schedule</c>).</summary>
public enum BetaSchedule
{
    /// <summary>β evenly spaced from beta_start to beta_end (<c>"linear"</c>).</summary>
    Linear,

    /// <summary>√β evenly spaced, then squared (<c>"scaled_linear"</c>, Stable Diffusion's).</summary>
    ScaledLinear,

    /// <summary>The cosine schedule of Nichol and Dhariwal, β capped at 0.999 (<c>"squaredcos_cap_v2"</c>).</summary>
    SquaredCosCapV2,

    /// <summary>The book's schedule: cosine with s = 0.008, β clipped to [beta_start, beta_end] (<c>"clipped_cosine"</c>).</summary>
    ClippedCosine,
}
