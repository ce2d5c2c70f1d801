namespace Diffusion.Schedulers;

/// <summary>The B(h) of UniPC's update (Zhao et al. 2023, §3.3; diffusers' <c>solver_type</c>).</summary>
public enum UniPCSolverType
{
    /// <summary>B(h) = h (<c>"bh1"</c>): recommended by the paper for unconditional sampling and few steps.</summary>
    Bh1,

    /// <summary>B(h) = e^h − 1 (<c>"bh2"</c>), the default: recommended for guided sampling.</summary>
    Bh2,
}
