using Diffusion.Schedulers.Internal;

namespace Diffusion.Schedulers;

/// <summary>
/// What every scheduler here shares: its options, the training noise schedule built from them, the inference timesteps,
/// and the members of <see cref="INoiseScheduler"/> that only read those. Each scheduler adds its own
/// <see cref="SetTimesteps"/> and <see cref="Step"/>; only this library derives from it.
/// </summary>
/// <typeparam name="TOptions">The scheduler's options record.</typeparam>
/// <remarks>
/// Tensors returned by the methods are new and owned by the caller; <see cref="Timesteps"/> and
/// <see cref="AlphasCumprod"/> are owned by the scheduler (dispose the scheduler to free them, and any state a
/// multistep scheduler keeps).
/// </remarks>
public abstract class NoiseScheduler<TOptions> : INoiseScheduler
    where TOptions : NoiseScheduleOptions
{

    /// <summary>Checks the options (one exception listing every violation) and builds the training schedule.</summary>
    /// <param name="options">The options record.</param>
    /// <param name="violations">The record's rule violations.</param>
    /// <param name="zeroSnrFloor">
    /// Whether ᾱ_{T−1} is floored after zero-SNR rescaling (the σ-based schedulers; see <see cref="TrainingSchedule"/>).
    /// </param>
    private protected NoiseScheduler(TOptions options, List<string> violations, bool zeroSnrFloor)
    {
        Options = options;
        Schedule = TrainingSchedule.Validated(options, violations, zeroSnrFloor);
    }

    /// <summary>The options this scheduler was built with.</summary>
    public TOptions Options { get; }

    /// <inheritdoc/>
    public int NumTrainTimesteps => Options.NumTrainTimesteps;

    /// <inheritdoc/>
    public Tensor Timesteps => Inference.Tensor;

    /// <inheritdoc/>
    public Tensor AlphasCumprod => Schedule.AlphasCumprodTensor;

    /// <inheritdoc/>
    /// <remarks>
    /// 1 for the schedulers whose sample is in VP space (DDPM, DDIM, PNDM, DPM-Solver, UniPC); for the σ-space ones
    /// (Euler, Euler ancestral, LMS, Heun) the largest σ, or √(σmax² + 1) for leading spacing (diffusers).
    /// </remarks>
    public double InitNoiseSigma => Inference.InitNoiseSigma(Options.TimestepSpacing);

    /// <inheritdoc/>
    public PredictionType PredictionType => Options.PredictionType;

    /// <inheritdoc/>
    /// <remarks>
    /// 1: one model evaluation per <see cref="Step"/> (Heun: 2). A multistep scheduler's order of accuracy is its own
    /// option (LMS's <c>LmsOrder</c>, DPM-Solver's and UniPC's <c>SolverOrder</c>).
    /// </remarks>
    public virtual int Order => 1;

    /// <summary>
    /// The number of inference steps last set, or null before <see cref="SetTimesteps"/>. It is the length of
    /// <see cref="Timesteps"/> except for Heun and PNDM, whose timesteps repeat entries.
    /// </summary>
    public int? NumInferenceSteps => Inference.NumInferenceSteps;

    /// <summary>The training noise schedule (β, ᾱ) built from <see cref="Options"/>.</summary>
    private protected TrainingSchedule Schedule { get; }

    /// <summary>The scheduler's inference timesteps (the derived class creates them after the schedule).</summary>
    private protected abstract IInferenceTimesteps Inference { get; }

    /// <inheritdoc/>
    public abstract void SetTimesteps(int numInferenceSteps);

    /// <inheritdoc/>
    public virtual void SetBeginIndex(int beginIndex) => Inference.SetBeginIndex(beginIndex, GetType().Name);

    /// <inheritdoc/>
    /// <remarks>
    /// The identity (a new handle on <paramref name="sample"/>) in VP space; x / √(σ² + 1) with σ of the timestep's
    /// place for the σ-space schedulers (Euler, Euler ancestral, LMS, Heun), so the model sees unit-variance input.
    /// </remarks>
    public Tensor ScaleModelInput(Tensor sample, Tensor timestep) => Inference.ScaleModelInput(sample, timestep);

    /// <inheritdoc/>
    public abstract SchedulerOutput Step(Tensor modelOutput, Tensor timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null);

    /// <inheritdoc/>
    /// <remarks>
    /// DDPM, DDIM and PNDM: at whole training timesteps. The others, as diffusers, at inference timesteps, with σ of each
    /// timestep's place in <see cref="Timesteps"/> (every timestep must be in it; one that is there twice, as in Heun's,
    /// takes its second place): x0 + σ·ε for the σ-space schedulers (Euler, Euler ancestral, LMS, Heun), α_t·x0 + σ_t·ε
    /// for DPM-Solver and UniPC. After <see cref="SetBeginIndex"/> the begin index (or the current step) is that place
    /// where the timestep is there.
    /// </remarks>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps) => Inference.AddNoise(originalSamples, noise, timesteps);

    /// <inheritdoc/>
    /// <remarks>
    /// At whole training timesteps (an int64 tensor; Euler and Euler ancestral also take whole float32 values), for every
    /// scheduler: train with DDPM or DDIM, sample with any.
    /// </remarks>
    public virtual Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps) => Schedule.GetVelocity(sample, noise, timesteps);

    /// <summary>Frees the scheduler's tensors, including any state a multistep scheduler keeps.</summary>
    public void Dispose()
    {
        ClearState();
        Schedule.Dispose();
        Inference.Dispose();
    }

    /// <summary>Drops what a stateful scheduler keeps between steps (a history, a half-finished step); nothing here.</summary>
    private protected virtual void ClearState()
    {
    }
}
