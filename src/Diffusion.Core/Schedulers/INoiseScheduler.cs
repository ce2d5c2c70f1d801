namespace Diffusion.Schedulers;

/// <summary>
/// A noise scheduler with diffusers' semantics: it adds noise for training and steps a sample
/// from timestep t to the previous one for sampling.
/// </summary>
/// <remarks>
/// <para>Ownership: tensors returned by the methods (and the two in <see cref="SchedulerOutput"/>) are new tensors
/// owned by the caller, who disposes them (or lets a dispose scope do it). <see cref="Timesteps"/> and
/// <see cref="AlphasCumprod"/> are owned by the scheduler: do not dispose them; <see cref="Timesteps"/> is replaced,
/// and the previous tensor disposed, by each <see cref="SetTimesteps"/>. Disposing a scheduler frees those tensors
/// (and DPM-Solver's history).</para>
/// <para>Timestep arguments are scalar tensors: a 0-dim (or one-element) tensor of any numeric dtype on any device,
/// e.g. an element of <see cref="Timesteps"/> or <c>torch.tensor(980L)</c>. Schedulers are stateful (the inference
/// schedule; Euler, Euler ancestral, DPM-Solver, LMS, Heun, UniPC and PNDM also their position in it) and not thread-safe.</para>
/// </remarks>
public interface INoiseScheduler : IDisposable
{
    /// <summary>Number of diffusion steps the model was trained with (diffusers' <c>num_train_timesteps</c>).</summary>
    int NumTrainTimesteps { get; }

    /// <summary>
    /// The inference timesteps, highest first, after <see cref="SetTimesteps"/>; int64 (float32 for Euler and Euler ancestral), on the CPU.
    /// Before <see cref="SetTimesteps"/>: every training timestep, T − 1 down to 0. Owned by the scheduler and valid
    /// until the next <see cref="SetTimesteps"/>; index it (<c>Timesteps[i]</c>) to get the scalar for a step.
    /// </summary>
    Tensor Timesteps { get; }

    /// <summary>Cumulative products of (1 − β), float32, length <see cref="NumTrainTimesteps"/>. Owned by the scheduler.</summary>
    Tensor AlphasCumprod { get; }

    /// <summary>Standard deviation of the initial noise (1 for DDPM/DDIM, the largest sigma for Euler).</summary>
    double InitNoiseSigma { get; }

    /// <summary>What the model is trained to predict; training targets and <see cref="Step"/> follow it.</summary>
    PredictionType PredictionType { get; }

    /// <summary>
    /// diffusers' <c>order</c>: model evaluations per <see cref="Step"/>, which pipelines use to count warm-up steps.
    /// 1 for the schedulers here, as in diffusers (DPM-Solver's multistep order is its <c>SolverOrder</c> option, and
    /// PNDM's <see cref="Timesteps"/> repeat entries for its warm-up: one model call per element either way).
    /// </summary>
    int Order { get; }

    /// <summary>Chooses the inference timesteps (and resets a multistep scheduler's state).</summary>
    /// <param name="numInferenceSteps">Number of denoising steps, 1 to <see cref="NumTrainTimesteps"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The count is out of range, or the spacing and steps offset give a timestep past the last training timestep.</exception>
    void SetTimesteps(int numInferenceSteps);

    /// <summary>
    /// Where the next sampling loop starts in <see cref="Timesteps"/> (diffusers' <c>set_begin_index</c>): image-to-image
    /// runs only the last timesteps, and <see cref="ImageToImageTimesteps.ForStrength"/> calls this for it. Schedulers
    /// that keep a step index (Euler, Euler ancestral, DPM-Solver, LMS, Heun, UniPC) take their first <see cref="Step"/> at this index;
    /// DDPM and DDIM find each step from its timestep and only check it; PNDM starts its step counter afresh, as
    /// diffusers does. <see cref="SetTimesteps"/> clears it.
    /// </summary>
    /// <param name="beginIndex">An index into <see cref="Timesteps"/>, 0 to its length − 1.</param>
    /// <exception cref="InvalidOperationException"><see cref="SetTimesteps"/> has not been called (or the scheduler cannot start there; see each scheduler).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="beginIndex"/> is not an index into <see cref="Timesteps"/>.</exception>
    void SetBeginIndex(int beginIndex);

    /// <summary>Scales the model input as the scheduler requires (identity except for Euler-type schedulers).</summary>
    /// <param name="sample">The current sample.</param>
    /// <param name="timestep">The current timestep (a scalar tensor).</param>
    /// <returns>A tensor owned by the caller.</returns>
    Tensor ScaleModelInput(Tensor sample, Tensor timestep);

    /// <summary>Steps the sample from <paramref name="timestep"/> to the previous inference timestep.</summary>
    /// <param name="modelOutput">The model's prediction at this timestep.</param>
    /// <param name="timestep">The current timestep (a scalar tensor, one of <see cref="Timesteps"/>).</param>
    /// <param name="sample">The current sample x_t.</param>
    /// <param name="generator">Random source for stochastic steps.</param>
    /// <param name="varianceNoise">Explicit noise for stochastic steps; takes precedence over <paramref name="generator"/>.</param>
    /// <returns>The previous sample and, where defined, the predicted x0; both owned by the caller.</returns>
    /// <exception cref="InvalidOperationException"><see cref="SetTimesteps"/> has not been called.</exception>
    /// <exception cref="ArgumentException">A shape does not match, the timestep is not one of <see cref="Timesteps"/>, or both noise sources are given.</exception>
    SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null);

    /// <summary>The forward process q(x_t | x_0): √ᾱ_t·x0 + √(1 − ᾱ_t)·noise.</summary>
    /// <param name="originalSamples">Clean samples x0, [N, ...].</param>
    /// <param name="noise">Gaussian noise, same shape.</param>
    /// <param name="timesteps">One int64 timestep per sample, [N].</param>
    /// <returns>A tensor owned by the caller.</returns>
    Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps);

    /// <summary>The v-prediction target √ᾱ_t·noise − √(1 − ᾱ_t)·x0.</summary>
    /// <param name="sample">Clean samples x0, [N, ...].</param>
    /// <param name="noise">Gaussian noise, same shape.</param>
    /// <param name="timesteps">One int64 timestep per sample, [N].</param>
    /// <returns>A tensor owned by the caller.</returns>
    Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps);
}
