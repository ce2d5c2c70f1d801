namespace Diffusion.Schedulers.Internal;

/// <summary>
/// Where the sample of a σ-based scheduler lives. It fixes the dtype of the timesteps tensor, the model input's scaling,
/// the initial noise and the forward process (see <see cref="SigmaTimesteps"/>).
/// </summary>
internal enum SigmaSampleSpace
{
    /// <summary>
    /// x_σ = x0 + σ·ε (Euler, Euler ancestral, LMS, Heun): float32 timesteps, the model fed x / √(σ² + 1), initial
    /// noise σmax (√(σmax² + 1) for leading spacing).
    /// </summary>
    VarianceExploding,

    /// <summary>
    /// x_t = α_t·x0 + σ_t·ε with α_t = 1/√(σ² + 1), σ_t = σ·α_t (the multistep solvers DPM-Solver and UniPC): int64
    /// timesteps, the model fed x itself, initial noise 1.
    /// </summary>
    VariancePreserving,
}
