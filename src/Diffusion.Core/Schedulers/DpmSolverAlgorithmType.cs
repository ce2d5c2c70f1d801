namespace Diffusion.Schedulers;

/// <summary>Which DPM-Solver variant steps the sample (diffusers' <c>algorithm_type</c>).</summary>
public enum DpmSolverAlgorithmType
{
    /// <summary>DPM-Solver++, the data-prediction form (Lu et al. 2022b) (<c>"dpmsolver++"</c>). The recommended one.</summary>
    DpmSolverPlusPlus,

    /// <summary>The original DPM-Solver, the noise-prediction form (Lu et al. 2022a) (<c>"dpmsolver"</c>).</summary>
    DpmSolver,

    /// <summary>The stochastic (SDE) variant of DPM-Solver++ (<c>"sde-dpmsolver++"</c>).</summary>
    SdeDpmSolverPlusPlus,

    /// <summary>The stochastic (SDE) variant of DPM-Solver (<c>"sde-dpmsolver"</c>).</summary>
    SdeDpmSolver,
}
