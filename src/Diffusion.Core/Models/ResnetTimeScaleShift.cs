namespace Diffusion.Models;

/// <summary>How a residual block applies the time embedding (<c>resnet_time_scale_shift</c>, diffusers' <c>time_embedding_norm</c>).</summary>
public enum ResnetTimeScaleShift
{
    /// <summary>The projected embedding is added before the second GroupNorm (<c>"default"</c>, DDPM).</summary>
    Default,

    /// <summary>The projection gives a scale and a shift applied after the second GroupNorm,
    /// <c>h · (1 + scale) + shift</c> (<c>"scale_shift"</c>, improved DDPM / ADM).</summary>
    ScaleShift,
}
