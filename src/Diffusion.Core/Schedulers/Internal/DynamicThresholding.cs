namespace Diffusion.Schedulers.Internal;

/// <summary>Clipping or dynamic thresholding of the predicted x0, shared by DDPM, DDIM, DPM-Solver, Heun and UniPC.</summary>
internal static class DynamicThresholding
{
    /// <summary>Thresholding if on, else clipping to ±range if on, else x0 itself.</summary>
    public static Tensor ClipOrThreshold(Tensor x0, bool clip, double range, bool thresholding, double ratio, double sampleMax)
    {
        if (thresholding)
        {
            return Apply(x0, ratio, sampleMax);
        }

        // A bound beyond float32's range clips nothing; libtorch refuses to convert it for a float32 tensor.
        double bound = x0.dtype == ScalarType.Float32 ? Math.Min(range, float.MaxValue) : range;
        return clip ? x0.clamp(-bound, bound) : x0;
    }

    /// <summary>
    /// Imagen's dynamic thresholding (Saharia et al. 2022, §2.3): per sample, s = the
    /// <paramref name="ratio"/>-quantile of |x0|, clamped to [1, <paramref name="sampleMax"/>];
    /// x0 is clamped to [−s, s] and divided by s.
    /// </summary>
    public static Tensor Apply(Tensor x0, double ratio, double sampleMax)
    {
        if (x0.dim() < 2)
        {
            throw new ArgumentException($"Dynamic thresholding needs a batched sample [N, C, ...]; got shape {SchedulerGuard.Shape(x0)}.", nameof(x0));
        }

        ScalarType dtype = x0.dtype;
        long[] shape = x0.shape;

        // Quantiles need float32 or float64 (diffusers upcasts the rest).
        Tensor flat = (dtype is ScalarType.Float32 or ScalarType.Float64 ? x0 : x0.to_type(ScalarType.Float32)).reshape(shape[0], -1);
        Tensor q = tensor(ratio, dtype: flat.dtype, device: flat.device);
        Tensor s = flat.abs().quantile(q, dim: 1).clamp(1, sampleMax).unsqueeze(1); // [N, 1]
        return (flat.clamp(-s, s) / s).reshape(shape).to_type(dtype);
    }
}
