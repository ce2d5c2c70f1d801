namespace Diffusion.Schedulers;

/// <summary>Where the last sampling step of a sigma-based scheduler ends (diffusers' <c>final_sigmas_type</c>).</summary>
public enum FinalSigmasType
{
    /// <summary>At σ = 0, a clean sample (<c>"zero"</c>).</summary>
    Zero,

    /// <summary>At the training schedule's smallest σ, that of timestep 0 (<c>"sigma_min"</c>).</summary>
    SigmaMin,
}
