namespace Diffusion.Schedulers;

/// <summary>How inference timesteps are picked from the training timesteps (diffusers' <c>timestep_spacing</c>).</summary>
public enum TimestepSpacing
{
    /// <summary>Multiples of T / N, counted from 0, plus <c>steps_offset</c> (<c>"leading"</c>).</summary>
    Leading,

    /// <summary>Counted down from T by T / N (<c>"trailing"</c>).</summary>
    Trailing,

    /// <summary>Evenly spaced from 0 to T − 1, rounded (<c>"linspace"</c>).</summary>
    Linspace,
}
