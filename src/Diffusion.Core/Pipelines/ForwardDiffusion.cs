using Diffusion.Schedulers;

namespace Diffusion.Pipelines;

/// <summary>The book's forward-diffusion figure: one clean image noised to several timesteps, side by side.</summary>
public static class ForwardDiffusion
{
    /// <summary>The timesteps of the book's figure.</summary>
    public static IReadOnlyList<int> BookTimesteps { get; } = [0, 200, 400, 600, 800, 999];

    /// <summary>Noises one image to each timestep with the same noise, as q(x_t | x_0) does.</summary>
    /// <param name="image">A clean image [3, H, W] in [0, 1].</param>
    /// <param name="scheduler">Gives ᾱ_t through <see cref="INoiseScheduler.AddNoise"/>.</param>
    /// <param name="timesteps">Timesteps in [0, NumTrainTimesteps); null takes <see cref="BookTimesteps"/>.</param>
    /// <param name="seed">Seed of the noise.</param>
    /// <returns>Images [K, 3, H, W] in [0, 1] (clamped), on the CPU; owned by the caller.</returns>
    /// <exception cref="ArgumentException">The image is not [3, H, W] or a timestep is out of range.</exception>
    public static Tensor Sample(Tensor image, INoiseScheduler scheduler, IReadOnlyList<int>? timesteps = null, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(scheduler);
        if (image.ndim != 3 || image.shape[0] != 3)
        {
            throw new ArgumentException($"image must be [3,H,W]; got [{string.Join(',', image.shape)}].", nameof(image));
        }

        timesteps ??= BookTimesteps;
        if (timesteps.Count == 0 || timesteps.Any(t => t < 0 || t >= scheduler.NumTrainTimesteps))
        {
            throw new ArgumentException($"timesteps must be non-empty and each in [0, {scheduler.NumTrainTimesteps}); got [{string.Join(", ", timesteps)}].", nameof(timesteps));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var generator = new Generator((ulong)seed, CPU);
        int k = timesteps.Count;
        Tensor x0 = image.detach().to(float32).cpu().mul(2).sub_(1).unsqueeze(0).expand(k, -1, -1, -1); // [K, 3, H, W] in [−1, 1]
        Tensor noise = randn(image.shape, generator: generator).unsqueeze(0).expand(k, -1, -1, -1);
        Tensor t = tensor(timesteps.Select(v => (long)v).ToArray(), int64);
        Tensor noisy = scheduler.AddNoise(x0.contiguous(), noise.contiguous(), t);
        return noisy.div(2).add_(0.5).clamp_(0, 1).MoveToOuterDisposeScope();
    }
}
