using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Schedulers.Internal;

/// <summary>
/// The inference schedule of the σ-space (Euler-type) schedulers: float32 timesteps, σ of each plus the final σ,
/// the timesteps tensor the scheduler owns, and where the sampling loop is (diffusers' step and begin index).
/// </summary>
internal sealed class EulerSchedule : IDisposable
{
    private readonly StepCursor _cursor = new();
    private Tensor _tensor;

    /// <summary>Before SetTimesteps: every training timestep, T − 1 down to 0, and σ down to 0 (diffusers' initial state).</summary>
    public EulerSchedule(TrainingSchedule schedule)
    {
        int n = schedule.NumTrainTimesteps;
        Timesteps = NumpyMath.Linspace(0, n - 1, n).Reverse().Select(t => (float)t).ToArray();
        Sigmas = [.. schedule.Sigmas().Reverse(), 0f];
        _tensor = Create(Timesteps);
    }

    /// <summary>The inference timesteps, highest first (float32; linspace spacing makes them fractional).</summary>
    public float[] Timesteps { get; private set; }

    /// <summary>σ of each inference timestep, then the final σ.</summary>
    public float[] Sigmas { get; private set; }

    /// <summary><see cref="Timesteps"/> as a float32 tensor owned by this object.</summary>
    public Tensor Tensor => _tensor;

    /// <summary>Null until <see cref="Set"/> runs.</summary>
    public int? NumInferenceSteps { get; private set; }

    /// <summary>
    /// diffusers' Euler-type timesteps for N steps (linspace kept fractional in float32, leading plus the offset,
    /// trailing), highest first; a count out of range or an offset past the last training timestep is an error.
    /// </summary>
    public static double[] SpacedTimesteps(ITrainingScheduleOptions options, int numInferenceSteps)
    {
        int numTrain = options.NumTrainTimesteps;
        SchedulerGuard.NumInferenceSteps(numInferenceSteps, numTrain);
        double[] timesteps = TimestepSchedules.Spaced(options.TimestepSpacing, numTrain, numInferenceSteps, options.StepsOffset, roundLinspace: false);
        if (timesteps.Max() > numTrain - 1)
        {
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), $"StepsOffset (steps_offset) {options.StepsOffset} with {numInferenceSteps} {options.TimestepSpacing} steps gives timestep {timesteps.Max()}, beyond the last training timestep ({numTrain - 1}).");
        }

        return timesteps;
    }

    /// <summary>σ at each (fractional) timestep: numpy.interp over the training σ, in float64 as diffusers.</summary>
    public static double[] Interpolate(double[] timesteps, float[] trainingSigmas) =>
        timesteps.Select(t => NumpyMath.Interp(t, trainingSigmas)).ToArray();

    /// <summary>Replaces the schedule (rounding to float32 as diffusers' astype does) and forgets the position.</summary>
    public void Set(double[] timesteps, double[] sigmas, float finalSigma, int numInferenceSteps)
    {
        Sigmas = [.. sigmas.Select(s => (float)s), finalSigma];
        Timesteps = timesteps.Select(t => (float)t).ToArray();
        _tensor.Dispose();
        _tensor = Create(Timesteps);
        _cursor.Reset();
        NumInferenceSteps = numInferenceSteps;
    }

    /// <summary>The largest σ, or √(σmax² + 1) for leading spacing (diffusers' init_noise_sigma).</summary>
    public double InitNoiseSigma(TimestepSpacing spacing)
    {
        float max = Sigmas.Max();
        return spacing == TimestepSpacing.Leading ? MathF.Sqrt((max * max) + 1) : max;
    }

    /// <summary>The schedule index of the step at <paramref name="timestep"/> (see <see cref="StepCursor.Locate"/>).</summary>
    public int Locate(Tensor timestep) => _cursor.Locate(SchedulerGuard.ReadTimestep(timestep), Timesteps, out _);

    /// <summary>Moves past the step just taken.</summary>
    public void Advance() => _cursor.Advance();

    /// <summary>diffusers' set_begin_index: the next step is a first step, at <paramref name="beginIndex"/>.</summary>
    public void SetBeginIndex(int beginIndex, string schedulerName)
    {
        SchedulerGuard.BeginIndex(beginIndex, NumInferenceSteps is not null, Timesteps.Length, schedulerName);
        _cursor.Begin(beginIndex);
    }

    /// <summary>x / √(σ² + 1): the model sees unit-variance input.</summary>
    public Tensor ScaleModelInput(Tensor sample, Tensor timestep)
    {
        ArgumentNullException.ThrowIfNull(sample);
        float sigma = Sigmas[Locate(timestep)];
        return sample / MathF.Sqrt((sigma * sigma) + 1);
    }

    /// <summary>diffusers' σ-space add_noise, x0 + σ·ε, with σ of each timestep's place in the schedule.</summary>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps)
    {
        SchedulerGuard.SameShape(originalSamples, nameof(originalSamples), noise, nameof(noise));
        SchedulerGuard.CheckBatch(timesteps, originalSamples, nameof(timesteps));
        using var scope = NewDisposeScope();
        float[] sigma = _cursor.NoiseIndices(timesteps, Timesteps).Select(i => Sigmas[i]).ToArray();
        Tensor sigmaT = tensor(sigma, dtype: ScalarType.Float32).to(originalSamples.dtype, originalSamples.device)
            .reshape(TrainingSchedule.BroadcastShape(sigma.Length, originalSamples.dim()));
        return (originalSamples + (noise * sigmaT)).MoveToOuterDisposeScope();
    }

    public void Dispose() => _tensor.Dispose();

    private static Tensor Create(float[] values) => tensor(values, dtype: ScalarType.Float32).DetachFromDisposeScope();
}
