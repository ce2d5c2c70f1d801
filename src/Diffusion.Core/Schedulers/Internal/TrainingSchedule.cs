using Diffusion.Internal;

namespace Diffusion.Schedulers.Internal;

/// <summary>
/// The training noise schedule a scheduler is built on: β_t and ᾱ_t as float32 arrays for the step
/// maths, and ᾱ_t as a float32 tensor (on the CPU, plus one copy per device it was asked for).
/// </summary>
internal sealed class TrainingSchedule : IDisposable
{
    private readonly Dictionary<string, Tensor> _alphasCumprodByDevice = [];

    /// <summary>Builds the schedule from options already checked (see <see cref="Validated"/>).</summary>
    /// <param name="options">The shared schedule options.</param>
    /// <param name="zeroSnrFloor">The σ-based schedulers set ᾱ_{T−1} = 2^-24 after zero-SNR rescaling so σ stays finite (diffusers' Euler, Euler ancestral, DPM-Solver and UniPC; LMS and Heun have no zero-SNR rescaling).</param>
    public TrainingSchedule(NoiseScheduleOptions options, bool zeroSnrFloor)
    {
        NumTrainTimesteps = options.NumTrainTimesteps;
        Betas = BetaSchedules.Betas(options);
        AlphasCumprod = BetaSchedules.AlphasCumprod(Betas, options.TrainedBetas is null ? options.BetaSchedule : BetaSchedule.Linear);
        if (zeroSnrFloor && options.RescalesBetasToZeroSnr)
        {
            AlphasCumprod[^1] = MathF.Pow(2, -24);
        }

        AlphasCumprodTensor = tensor(AlphasCumprod, dtype: ScalarType.Float32).DetachFromDisposeScope();
    }

    /// <summary>
    /// A scheduler constructor's first step: throws one <see cref="ArgumentException"/> (parameter "options") listing
    /// every rule <paramref name="options"/> break, else builds the schedule.
    /// </summary>
    /// <param name="options">The scheduler's options record (its type names the options in the message).</param>
    /// <param name="violations">The record's rule violations.</param>
    /// <param name="zeroSnrFloor">As for the constructor.</param>
    public static TrainingSchedule Validated(NoiseScheduleOptions options, List<string> violations, bool zeroSnrFloor)
    {
        OptionsValidation.ThrowIfAny(options.GetType().Name, violations, nameof(options));
        return new TrainingSchedule(options, zeroSnrFloor);
    }

    public int NumTrainTimesteps { get; }

    public float[] Betas { get; }

    /// <summary>ᾱ_t, float32.</summary>
    public float[] AlphasCumprod { get; }

    /// <summary>ᾱ_t, or <paramref name="final"/> for t &lt; 0 (the step past the last training timestep).</summary>
    public float AlphaCumprodAt(long t, float final) => t >= 0 ? AlphasCumprod[t] : final;

    /// <summary>ᾱ after the last step of DDIM and PNDM: 1 (a clean sample) or ᾱ_0 (diffusers' set_alpha_to_one).</summary>
    public float FinalAlphaCumprod(bool setAlphaToOne) => setAlphaToOne ? 1.0f : AlphasCumprod[0];

    /// <summary>ᾱ_t as a CPU float32 tensor owned by this object.</summary>
    public Tensor AlphasCumprodTensor { get; }

    /// <summary>σ_t = √((1 − ᾱ_t) / ᾱ_t) in float32, in training-timestep order (t = 0 first).</summary>
    public float[] Sigmas()
    {
        var sigmas = new float[AlphasCumprod.Length];
        for (int i = 0; i < sigmas.Length; i++)
        {
            float a = AlphasCumprod[i];
            sigmas[i] = MathF.Sqrt((1 - a) / a);
        }

        return sigmas;
    }

    /// <summary>q(x_t | x_0) = √ᾱ_t·x0 + √(1 − ᾱ_t)·ε, in the dtype of <paramref name="originalSamples"/> (diffusers' add_noise); the noise must have the samples' shape.</summary>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps)
    {
        SchedulerGuard.SameShape(originalSamples, nameof(originalSamples), noise, nameof(noise));
        using var scope = NewDisposeScope();
        var (sqrtAlpha, sqrtOneMinusAlpha) = Coefficients(originalSamples, timesteps, nameof(timesteps));
        return ((sqrtAlpha * originalSamples) + (sqrtOneMinusAlpha * noise)).MoveToOuterDisposeScope();
    }

    /// <summary>v = √ᾱ_t·ε − √(1 − ᾱ_t)·x0, in the dtype of <paramref name="sample"/> (diffusers' get_velocity); the noise must have the sample's shape.</summary>
    public Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps)
    {
        SchedulerGuard.SameShape(sample, nameof(sample), noise, nameof(noise));
        using var scope = NewDisposeScope();
        var (sqrtAlpha, sqrtOneMinusAlpha) = Coefficients(sample, timesteps, nameof(timesteps));
        return ((sqrtAlpha * noise) - (sqrtOneMinusAlpha * sample)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="GetVelocity"/> for the σ-space schedulers, whose timesteps are float32: whole-valued float
    /// timesteps are accepted as training timesteps, fractional ones refused.
    /// </summary>
    public Tensor GetVelocityAtWholeTimesteps(Tensor sample, Tensor noise, Tensor timesteps)
    {
        SchedulerGuard.SameShape(sample, nameof(sample), noise, nameof(noise));
        ArgumentNullException.ThrowIfNull(timesteps);
        if (!is_floating_point(timesteps))
        {
            return GetVelocity(sample, noise, timesteps);
        }

        using var scope = NewDisposeScope();
        Tensor whole = timesteps.round();
        if (!whole.eq(timesteps).all().item<bool>())
        {
            throw new ArgumentException("timesteps must be whole training timesteps for GetVelocity; got fractional values.", nameof(timesteps));
        }

        return GetVelocity(sample, noise, whole.to_type(ScalarType.Int64)).MoveToOuterDisposeScope();
    }

    /// <summary>ᾱ on <paramref name="device"/> (cached, owned by this object).</summary>
    public Tensor AlphasCumprodOn(Device device)
    {
        if (device.type == DeviceType.CPU)
        {
            return AlphasCumprodTensor;
        }

        string key = device.ToString();
        if (!_alphasCumprodByDevice.TryGetValue(key, out Tensor? onDevice))
        {
            onDevice = AlphasCumprodTensor.to(device).DetachFromDisposeScope();
            _alphasCumprodByDevice[key] = onDevice;
        }

        return onDevice;
    }

    public void Dispose()
    {
        AlphasCumprodTensor.Dispose();
        foreach (Tensor t in _alphasCumprodByDevice.Values)
        {
            t.Dispose();
        }

        _alphasCumprodByDevice.Clear();
    }

    private (Tensor SqrtAlpha, Tensor SqrtOneMinusAlpha) Coefficients(Tensor samples, Tensor timesteps, string paramName)
    {
        Tensor index = SchedulerGuard.TrainingTimestepIndex(timesteps, samples, NumTrainTimesteps, paramName);

        // diffusers: alphas_cumprod.to(device).to(dtype)[timesteps] ** 0.5, shaped [N, 1, 1, ...].
        Tensor alphas = AlphasCumprodOn(samples.device).to_type(samples.dtype).index_select(0, index);
        long[] shape = BroadcastShape(alphas.shape[0], samples.dim());
        Tensor sqrtAlpha = alphas.sqrt().reshape(shape);
        Tensor sqrtOneMinusAlpha = (1 - alphas).sqrt().reshape(shape);
        return (sqrtAlpha, sqrtOneMinusAlpha);
    }

    /// <summary>[n, 1, 1, …] with as many dimensions as the sample.</summary>
    public static long[] BroadcastShape(long n, long sampleDims)
    {
        var shape = new long[Math.Max(1, sampleDims)];
        Array.Fill(shape, 1L);
        shape[0] = n;
        return shape;
    }
}
