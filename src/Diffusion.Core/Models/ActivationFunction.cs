namespace Diffusion.Models;

/// <summary>The activation of a diffusers model's residual blocks (<c>act_fn</c>; diffusers' <c>get_activation</c>).</summary>
public enum ActivationFunction
{
    /// <summary>x · sigmoid(x) (<c>"silu"</c>).</summary>
    Silu,

    /// <summary>The same function as <see cref="Silu"/> under its older name (<c>"swish"</c>); written back as <c>"swish"</c>.</summary>
    Swish,

    /// <summary>x · tanh(softplus(x)) (<c>"mish"</c>).</summary>
    Mish,

    /// <summary>The exact (erf) GELU (<c>"gelu"</c>).</summary>
    Gelu,

    /// <summary>max(0, x) (<c>"relu"</c>).</summary>
    Relu,
}
