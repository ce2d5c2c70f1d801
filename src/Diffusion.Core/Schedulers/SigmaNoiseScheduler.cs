using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// A <see cref="NoiseScheduler{TOptions}"/> whose inference schedule gives each timestep a noise level σ: the σ-space
/// samplers (Euler, Euler ancestral, LMS, Heun) and the multistep VP solvers (DPM-Solver, UniPC). It keeps its position
/// in the schedule (diffusers' step index) and drops a stateful scheduler's history whenever the sampling loop restarts.
/// Only this library derives from it.
/// </summary>
/// <typeparam name="TOptions">The scheduler's options record.</typeparam>
public abstract class SigmaNoiseScheduler<TOptions> : NoiseScheduler<TOptions>
    where TOptions : NoiseScheduleOptions
{
    /// <summary>
    /// Checks the options, builds the training schedule, and starts on every training timestep. ᾱ_{T−1} is floored
    /// after zero-SNR rescaling so that σ_{T−1} stays finite (see <see cref="TrainingSchedule"/>).
    /// </summary>
    /// <param name="options">The options record.</param>
    /// <param name="violations">The record's rule violations.</param>
    /// <param name="space">Where the sample lives, σ-space or VP space.</param>
    private protected SigmaNoiseScheduler(TOptions options, List<string> violations, SigmaSampleSpace space)
        : base(options, violations, zeroSnrFloor: true)
    {
        // Before SetTimesteps: every training timestep, T − 1 down to 0, with its σ. State kept between steps is dropped
        // whenever the loop restarts (new schedule, begin index, or a timestep that is not the expected next one).
        Steps = new SigmaTimesteps(Schedule, space, restarted: ClearState);
    }

    /// <summary>
    /// σ of each element of <see cref="INoiseScheduler.Timesteps"/>, then the final σ (0, or the smallest training σ where
    /// the options' <c>FinalSigmasType</c> asks for it), float32 (a copy).
    /// </summary>
    public IReadOnlyList<float> Sigmas => Steps.Sigmas.ToArray();

    /// <summary>The timesteps, their σ and the position in them.</summary>
    private protected SigmaTimesteps Steps { get; }

    /// <inheritdoc/>
    private protected sealed override IInferenceTimesteps Inference => Steps;
}
