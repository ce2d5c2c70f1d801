using System.Globalization;

namespace Diffusion.Schedulers;

/// <summary>
/// The start of image-to-image sampling: which of a scheduler's timesteps run for a given strength (diffusers'
/// <c>StableDiffusionImg2ImgPipeline.get_timesteps</c>). Strength 1 runs them all from pure noise; strength 0.6 with 50
/// steps noises the input image to the 30th-last step's level and runs the last 30.
/// </summary>
public static class ImageToImageTimesteps
{
    /// <summary>
    /// Sets <paramref name="scheduler"/> to <paramref name="inferenceSteps"/> and returns the timesteps that
    /// image-to-image runs for <paramref name="strength"/>, telling the scheduler where they begin.
    /// </summary>
    /// <remarks>
    /// <para>diffusers' rule: k = min(⌊N·strength⌋, N) steps are kept, t_start = N − k, and the timesteps are
    /// <c>Timesteps[t_start·Order..]</c>; then <see cref="INoiseScheduler.SetBeginIndex"/>(t_start·Order). Noise the
    /// encoded image to the first returned timestep with <see cref="INoiseScheduler.AddNoise"/> (pass
    /// <c>timesteps[..1]</c>), then step through the returned timesteps in order.</para>
    /// <para>For PNDM, whose <see cref="INoiseScheduler.Timesteps"/> repeat one entry, this is diffusers' slice too
    /// (one element more than k, starting one step higher), so results equal diffusers'.</para>
    /// </remarks>
    /// <param name="scheduler">The scheduler; <see cref="INoiseScheduler.SetTimesteps"/> and <see cref="INoiseScheduler.SetBeginIndex"/> are called on it.</param>
    /// <param name="inferenceSteps">N, the steps a full run from noise would take.</param>
    /// <param name="strength">How much of the run is kept, in (0, 1]; N·strength must be at least 1.</param>
    /// <returns>A new int64 (float32 for Euler-type schedulers) tensor of the timesteps to run, highest first; owned by the caller.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="strength"/> is outside (0, 1] or keeps no step, or <paramref name="inferenceSteps"/> is out of the scheduler's range.</exception>
    /// <exception cref="InvalidOperationException">The scheduler cannot start mid-schedule (PNDM with its Runge–Kutta warm-up).</exception>
    public static Tensor ForStrength(INoiseScheduler scheduler, int inferenceSteps, double strength)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        if (!(strength > 0 && strength <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(strength), string.Create(CultureInfo.InvariantCulture, $"strength must lie in (0, 1]; got {strength:R}."));
        }

        scheduler.SetTimesteps(inferenceSteps);
        int kept = Math.Min((int)(inferenceSteps * strength), inferenceSteps);
        if (kept < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(strength), string.Create(CultureInfo.InvariantCulture, $"strength × inferenceSteps must be at least 1 (one denoising step); got {strength:R} × {inferenceSteps} = {strength * inferenceSteps:R}."));
        }

        int begin = (inferenceSteps - kept) * scheduler.Order;
        long count = scheduler.Timesteps.shape[0];
        scheduler.SetBeginIndex(begin);
        using var scope = NewDisposeScope();
        return scheduler.Timesteps.narrow(0, begin, count - begin).clone().MoveToOuterDisposeScope();
    }
}
