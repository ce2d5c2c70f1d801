namespace Diffusion.Schedulers;

/// <summary>The second-order update rule of DPM-Solver (diffusers' <c>solver_type</c>).</summary>
public enum DpmSolverType
{
    /// <summary>The midpoint rule (<c>"midpoint"</c>), the default.</summary>
    Midpoint,

    /// <summary>Heun's rule (<c>"heun"</c>).</summary>
    Heun,
}
