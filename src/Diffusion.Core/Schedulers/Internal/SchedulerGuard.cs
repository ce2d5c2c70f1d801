using System.Globalization;

namespace Diffusion.Schedulers.Internal;

/// <summary>Argument checks shared by the schedulers, with messages that name the parameter, the expected and the actual value.</summary>
internal static class SchedulerGuard
{
    /// <summary>The value of a scalar timestep tensor (0-dim or one element, any numeric dtype, any device).</summary>
    public static double ReadTimestep(Tensor timestep, string paramName = "timestep")
    {
        ArgumentNullException.ThrowIfNull(timestep, paramName);
        if (timestep.numel() != 1)
        {
            throw new ArgumentException($"{paramName} must be a scalar tensor (one element); got shape {Shape(timestep)}.", paramName);
        }

        return Values(timestep)[0];
    }

    /// <summary>The values of a tensor as float64 (copied to the CPU; no tensor is left behind).</summary>
    public static double[] Values(Tensor t)
    {
        using var scope = NewDisposeScope();
        return t.detach().cpu().to_type(ScalarType.Float64).reshape(-1).data<double>().ToArray();
    }

    /// <summary>A scalar timestep that must be a whole training timestep (DDPM, DDIM).</summary>
    public static int ReadIntegerTimestep(Tensor timestep, int numTrainTimesteps, string paramName = "timestep")
    {
        double value = ReadTimestep(timestep, paramName);
        if (value != Math.Floor(value) || value < 0 || value >= numTrainTimesteps)
        {
            throw new ArgumentOutOfRangeException(paramName, $"{paramName} must be a whole number in [0, {numTrainTimesteps - 1}]; got {Format(value)}.");
        }

        return (int)value;
    }

    /// <summary>Training timesteps for AddNoise/GetVelocity: integer dtype, one per sample (or one for all), in [0, T). Returns them flattened, int64, on the samples' device.</summary>
    public static Tensor TrainingTimestepIndex(Tensor timesteps, Tensor samples, int numTrainTimesteps, string paramName)
    {
        ArgumentNullException.ThrowIfNull(timesteps, paramName);
        ArgumentNullException.ThrowIfNull(samples);
        if (!is_integral(timesteps.dtype) || timesteps.dtype == ScalarType.Bool)
        {
            throw new ArgumentException($"{paramName} must be an integer tensor (int64) of training timesteps; got dtype {timesteps.dtype}.", paramName);
        }

        CheckBatch(timesteps, samples, paramName);
        Tensor flat = timesteps.reshape(-1).to_type(ScalarType.Int64);
        long min = flat.min().cpu().item<long>();
        long max = flat.max().cpu().item<long>();
        if (min < 0 || max >= numTrainTimesteps)
        {
            throw new ArgumentOutOfRangeException(paramName, $"{paramName} must lie in [0, {numTrainTimesteps - 1}]; got values from {min} to {max}.");
        }

        return flat.to(samples.device);
    }

    /// <summary>timesteps has one element, or one per sample.</summary>
    public static void CheckBatch(Tensor timesteps, Tensor samples, string paramName)
    {
        long batch = samples.dim() == 0 ? 1 : samples.shape[0];
        if (timesteps.numel() != 1 && timesteps.numel() != batch)
        {
            throw new ArgumentException($"{paramName} must hold one timestep per sample ({batch}) or a single one; got shape {Shape(timesteps)}.", paramName);
        }
    }

    /// <summary>Two tensors must have the same shape.</summary>
    public static void SameShape(Tensor expected, string expectedName, Tensor actual, string actualName)
    {
        ArgumentNullException.ThrowIfNull(expected, expectedName);
        ArgumentNullException.ThrowIfNull(actual, actualName);
        if (!expected.shape.SequenceEqual(actual.shape))
        {
            throw new ArgumentException($"{actualName} must have the shape of {expectedName}, {Shape(expected)}; got {Shape(actual)}.", actualName);
        }
    }

    /// <summary>A Step's model output must have the sample's shape.</summary>
    public static void ModelOutputShape(Tensor modelOutput, Tensor sample) =>
        SameShape(sample, nameof(sample), modelOutput, nameof(modelOutput));

    /// <summary>ScaleModelInput of the schedulers whose model sees the sample as it is: a new handle on <paramref name="sample"/>.</summary>
    public static Tensor Unscaled(Tensor sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return sample.alias();
    }

    /// <summary>Noise for a stochastic step: <paramref name="varianceNoise"/> (checked, moved to the device and dtype) or a draw from <paramref name="generator"/>.</summary>
    public static Tensor Noise(long[] shape, ScalarType dtype, Device device, Generator? generator, Tensor? varianceNoise)
    {
        if (varianceNoise is not null)
        {
            if (!varianceNoise.shape.SequenceEqual(shape))
            {
                throw new ArgumentException($"varianceNoise must have shape {Shape(shape)}; got {Shape(varianceNoise)}.", nameof(varianceNoise));
            }

            return varianceNoise.to(dtype, device);
        }

        // As diffusers' randn_tensor: draw on the generator's device, then move.
        Device drawOn = generator?.device ?? device;
        Tensor noise = randn(shape, dtype: dtype, device: drawOn, generator: generator);
        if (drawOn.type == device.type && drawOn.index == device.index)
        {
            return noise;
        }

        if (drawOn.type == DeviceType.CPU && device.type == DeviceType.CUDA)
        {
            // From pinned memory the copy is queued like a kernel; from ordinary memory libtorch waits for all queued
            // GPU work first, which would serialise every sampling step with the U-Net (docs/performance.md).
            using Tensor pinned = noise.pin_memory();
            return pinned.to(device, non_blocking: true);
        }

        return noise.to(device);
    }

    /// <summary>diffusers refuses a generator and explicit noise together; so do we.</summary>
    public static void NotBoth(Generator? generator, Tensor? varianceNoise)
    {
        if (generator is not null && varianceNoise is not null)
        {
            throw new ArgumentException("Pass either generator or varianceNoise, not both.", nameof(varianceNoise));
        }
    }

    /// <summary>Inference step count in [1, T].</summary>
    public static void NumInferenceSteps(int numInferenceSteps, int numTrainTimesteps)
    {
        if (numInferenceSteps < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), $"numInferenceSteps must be at least 1; got {numInferenceSteps}.");
        }

        if (numInferenceSteps > numTrainTimesteps)
        {
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), $"numInferenceSteps must not exceed NumTrainTimesteps ({numTrainTimesteps}); got {numInferenceSteps}.");
        }
    }

    /// <summary>SetTimesteps' check that the spacing and steps offset stay within the training timesteps.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The largest timestep is past T − 1.</exception>
    public static void WithinTraining(double largestTimestep, int numTrainTimesteps, int stepsOffset, int numInferenceSteps, TimestepSpacing spacing)
    {
        if (largestTimestep > numTrainTimesteps - 1)
        {
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), $"StepsOffset (steps_offset) {stepsOffset} with {numInferenceSteps} {spacing} steps gives timestep {Format(largestTimestep)}, beyond the last training timestep ({numTrainTimesteps - 1}).");
        }
    }

    /// <summary>SetBeginIndex: after SetTimesteps, an index into the <paramref name="count"/> inference timesteps.</summary>
    public static void BeginIndex(int beginIndex, bool timestepsSet, int count, string schedulerName)
    {
        if (!timestepsSet)
        {
            throw new InvalidOperationException($"{schedulerName}.SetBeginIndex was called before SetTimesteps: call SetTimesteps(numInferenceSteps) first (it clears the begin index).");
        }

        if (beginIndex < 0 || beginIndex >= count)
        {
            throw new ArgumentOutOfRangeException(nameof(beginIndex), $"beginIndex must lie in [0, {count - 1}] (an index into the {count} timesteps set by SetTimesteps); got {beginIndex}.");
        }
    }

    /// <summary>The message for Step before SetTimesteps.</summary>
    public static InvalidOperationException StepBeforeSetTimesteps(string schedulerName) =>
        new($"{schedulerName}.Step was called before SetTimesteps: call SetTimesteps(numInferenceSteps) first.");

    /// <summary>The message for a timestep that is not in the inference schedule.</summary>
    public static ArgumentException NotInSchedule(double timestep, int count, string paramName = "timestep") =>
        new($"{paramName} {Format(timestep)} is not one of the {count} inference timesteps set by SetTimesteps; pass an element of Timesteps.", paramName);

    public static string Shape(Tensor t) => Shape(t.shape);

    public static string Shape(long[] shape) => "[" + string.Join(",", shape) + "]";

    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
