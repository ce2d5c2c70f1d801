namespace Diffusion.Schedulers;

/// <summary>How the Euler scheduler computes the σ of its inference timesteps (diffusers' <c>interpolation_type</c>).</summary>
public enum InterpolationType
{
    /// <summary>σ interpolated linearly between the training timesteps around each inference timestep (<c>"linear"</c>).</summary>
    Linear,

    /// <summary>σ evenly spaced in log σ from the largest to the smallest training σ (<c>"log_linear"</c>).</summary>
    LogLinear,
}
