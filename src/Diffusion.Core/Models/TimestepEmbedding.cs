namespace Diffusion.Models;

/// <summary>
/// Sinusoidal timestep embeddings: each timestep t becomes <c>[sin(t·f_0) … sin(t·f_{h-1}), cos(t·f_0) … cos(t·f_{h-1})]</c>
/// with <c>h = dim / 2</c> and frequencies <c>f_i = exp(-ln(maxPeriod) · i / (h - shift))</c>.
/// </summary>
/// <remarks>
/// Both functions follow their reference's float32 path step by step (frequencies in float32, then
/// <c>t · f</c> in float32, then sin and cos), so they equal the reference to float32 rounding.
/// The returned tensor is a new float32 tensor <c>[N, dim]</c> on the timesteps' device; the caller disposes it
/// (or lets the enclosing dispose scope do so).
/// </remarks>
public static class TimestepEmbedding
{
    /// <summary>
    /// The book's <c>sinusoidal_embedding(timesteps, dim)</c> (markhliu/DGAI <c>utils/unet_util.py</c>):
    /// sine half first, frequency exponent divided by <c>dim/2 − 1</c>, maximum period 10000.
    /// </summary>
    /// <param name="timesteps">A 1-D tensor of N timesteps, integer or floating (fractional values are kept).</param>
    /// <param name="dim">The embedding width: even and at least 4 (the book would silently drop a column of an odd width).</param>
    /// <returns>A float32 tensor <c>[N, dim]</c> on the device of <paramref name="timesteps"/>; the caller owns it.</returns>
    /// <exception cref="ArgumentException"><paramref name="timesteps"/> is not a 1-D integer or floating tensor.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is odd or below 4.</exception>
    public static Tensor Sinusoidal(Tensor timesteps, int dim)
    {
        ValidateTimesteps(timesteps);
        if (dim < 4 || dim % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), dim, $"dim must be even and at least 4; got {dim}.");
        }

        // The book's embedding is diffusers' with downscale_freq_shift = 1, sin first, scale 1, max period 10000.
        return Compute(timesteps, dim, flipSinToCos: false, downscaleFreqShift: 1, scale: 1, maxPeriod: 10000);
    }

    /// <summary>
    /// diffusers' <c>get_timestep_embedding</c> (<c>src/diffusers/models/embeddings.py</c>), with its parameters and defaults.
    /// </summary>
    /// <param name="timesteps">A 1-D tensor of N timesteps, integer or floating (fractional values are kept).</param>
    /// <param name="dim">The embedding width, at least 1; an odd width gets a zero column at the end.</param>
    /// <param name="flipSinToCos">True puts the cosine half first (<c>flip_sin_to_cos</c>).</param>
    /// <param name="downscaleFreqShift">The shift in the frequency exponent's divisor <c>dim/2 − shift</c> (<c>downscale_freq_shift</c>).</param>
    /// <param name="scale">A factor applied to <c>t · f</c> before sin and cos (<c>scale</c>).</param>
    /// <param name="maxPeriod">The longest period (<c>max_period</c>), greater than 0.</param>
    /// <returns>A float32 tensor <c>[N, dim]</c> on the device of <paramref name="timesteps"/>; the caller owns it.</returns>
    /// <exception cref="ArgumentException"><paramref name="timesteps"/> is not a 1-D integer or floating tensor, or <c>dim/2 − shift</c> is 0.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> or <paramref name="maxPeriod"/> is not positive.</exception>
    public static Tensor Diffusers(
        Tensor timesteps,
        int dim,
        bool flipSinToCos = false,
        double downscaleFreqShift = 1,
        double scale = 1,
        int maxPeriod = 10000)
    {
        ValidateTimesteps(timesteps);
        if (dim < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), dim, $"dim must be at least 1; got {dim}.");
        }

        if (maxPeriod < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxPeriod), maxPeriod, $"maxPeriod must be at least 1; got {maxPeriod}.");
        }

        if (dim / 2 - downscaleFreqShift == 0)
        {
            throw new ArgumentException(
                $"dim / 2 - downscaleFreqShift must not be 0 (it divides the frequency exponent); got dim {dim}, downscaleFreqShift {downscaleFreqShift}.",
                nameof(downscaleFreqShift));
        }

        return Compute(timesteps, dim, flipSinToCos, downscaleFreqShift, scale, maxPeriod);
    }

    private static Tensor Compute(Tensor timesteps, int dim, bool flipSinToCos, double downscaleFreqShift, double scale, int maxPeriod)
    {
        using var scope = NewDisposeScope();
        int half = dim / 2;

        // f_i = exp(-ln(maxPeriod) · i / (half - shift)), in float32 like the references.
        Tensor exponent = arange(0, half, dtype: ScalarType.Float32, device: timesteps.device) * -Math.Log(maxPeriod);
        exponent = exponent / (half - downscaleFreqShift);
        Tensor frequencies = exponent.exp();                                            // [half]
        Tensor arguments = timesteps.to(ScalarType.Float32).unsqueeze(1) * frequencies.unsqueeze(0); // [N, half]
        if (scale != 1)
        {
            arguments = arguments * scale;
        }

        Tensor embedding = flipSinToCos
            ? cat([arguments.cos(), arguments.sin()], dim: -1)                          // [N, 2·half]
            : cat([arguments.sin(), arguments.cos()], dim: -1);
        if (dim % 2 == 1)
        {
            embedding = nn.functional.pad(embedding, [0, 1]);                          // [N, dim]
        }

        return embedding.MoveToOuterDisposeScope();
    }

    private static void ValidateTimesteps(Tensor timesteps)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        if (timesteps.dim() != 1)
        {
            throw new ArgumentException(
                $"timesteps must be a 1-D tensor [N]; got shape [{string.Join(",", timesteps.shape)}].", nameof(timesteps));
        }

        if (timesteps.dtype == ScalarType.Bool || !(is_integral(timesteps.dtype) || is_floating_point(timesteps.dtype)))
        {
            throw new ArgumentException($"timesteps must be an integer or floating tensor; got {timesteps.dtype}.", nameof(timesteps));
        }
    }
}
