using static TorchSharp.torch;

namespace Diffusion.Schedulers.Internal;

/// <summary>
/// The inference schedule of a σ-indexed scheduler (LMS, Heun, UniPC): its timesteps and the σ of each (plus the final
/// one), the tensor of timesteps it hands out (owned here), and the step cursor over them.
/// </summary>
internal sealed class InferenceSchedule : IDisposable
{
    private readonly ScalarType _dtype;

    /// <param name="dtype">The dtype of <see cref="Tensor"/>: float32 (Euler type) or int64 (UniPC).</param>
    public InferenceSchedule(ScalarType dtype)
    {
        _dtype = dtype;
        Tensor = empty(0, dtype: dtype).DetachFromDisposeScope();
    }

    /// <summary>The timesteps, float32 values (whole numbers for int64 schedules).</summary>
    public float[] Timesteps { get; private set; } = [];

    /// <summary>σ of each timestep and the final σ (one more than <see cref="Timesteps"/>).</summary>
    public float[] Sigmas { get; private set; } = [];

    /// <summary>The timesteps as a CPU tensor in the scheduler's dtype; replaced (and the old one disposed) by <see cref="Set"/>.</summary>
    public Tensor Tensor { get; private set; }

    public StepCursor Cursor { get; } = new();

    /// <summary>Replaces the schedule and resets the cursor.</summary>
    public void Set(float[] timesteps, float[] sigmas)
    {
        Timesteps = timesteps;
        Sigmas = sigmas;
        Tensor.Dispose();
        Tensor = _dtype == ScalarType.Int64
            ? tensor(timesteps.Select(t => (long)t).ToArray(), dtype: ScalarType.Int64).DetachFromDisposeScope()
            : tensor(timesteps, dtype: _dtype).DetachFromDisposeScope();
        Cursor.Reset();
    }

    /// <summary>σ for AddNoise: one per timestep given (checked against the samples' batch), by <see cref="StepCursor.NoiseIndices"/>.</summary>
    public float[] NoiseSigmas(Tensor timesteps, Tensor originalSamples, Tensor noise)
    {
        SchedulerGuard.SameShape(originalSamples, nameof(originalSamples), noise, nameof(noise));
        SchedulerGuard.CheckBatch(timesteps, originalSamples, nameof(timesteps));
        return Cursor.NoiseIndices(timesteps, Timesteps).Select(i => Sigmas[i]).ToArray();
    }

    /// <summary>
    /// diffusers' set_timesteps of the Euler-type schedulers (LMS, Heun): spaced float timesteps, σ interpolated, Karras or exponential,
    /// a final σ of 0. <paramref name="initial"/> gives the schedule before SetTimesteps: every training timestep, linspace, no Karras.
    /// </summary>
    public static (double[] Timesteps, double[] Sigmas) EulerType(ITrainingScheduleOptions options, float[] trainingSigmas, int n, SigmaSpread spread, bool initial)
    {
        int numTrain = options.NumTrainTimesteps;
        TimestepSpacing spacing = initial ? TimestepSpacing.Linspace : options.TimestepSpacing;
        double[] timesteps = TimestepSchedules.Spaced(spacing, numTrain, n, options.StepsOffset, roundLinspace: false);
        SchedulerGuard.WithinTraining(timesteps.Max(), numTrain, options.StepsOffset, n, spacing);
        double[] sigmas = SigmaSchedules.Interpolated(trainingSigmas, ref timesteps, initial ? SigmaSpread.Interpolated : spread);
        return (timesteps, [.. sigmas, 0]);
    }

    public void Dispose() => Tensor.Dispose();
}
