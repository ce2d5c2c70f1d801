using Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Pipelines;

/// <summary>The reverse process both pipelines run for one batch: x_T from the generator, then scheduler steps.</summary>
internal static class DenoisingLoop
{
    /// <summary>
    /// Draws x_T ~ N(0, σ_init²) on the CPU generator (the same start on every device), then for each of the
    /// scheduler's timesteps asks <paramref name="predict"/> for the model output and takes a scheduler step.
    /// </summary>
    /// <param name="scheduler">Set to <paramref name="steps"/> here; its stochastic steps draw from <paramref name="generator"/>.</param>
    /// <param name="shape">The batch's shape, [N, C, H, W].</param>
    /// <param name="steps">Inference steps.</param>
    /// <param name="generator">CPU generator for x_T and the scheduler's noise.</param>
    /// <param name="device">Where the model runs.</param>
    /// <param name="modelType">The model's dtype; its inputs are cast to it.</param>
    /// <param name="predict">(scaled input on the device in <paramref name="modelType"/>, timestep on the device) → model output.</param>
    /// <param name="batch">Index of this batch, for progress reports.</param>
    /// <param name="batches">Number of batches, for progress reports.</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="cancellationToken">Checked before every step.</param>
    /// <returns>Images [N, C, H, W], float32 in [0, 1], on the CPU; the caller owns them.</returns>
    public static Tensor Run(INoiseScheduler scheduler, long[] shape, int steps, Generator generator, Device device, ScalarType modelType,
        Func<Tensor, Tensor, Tensor> predict, int batch, int batches, IProgress<SamplingProgress>? progress, CancellationToken cancellationToken)
    {
        using var outer = NewDisposeScope();
        scheduler.SetTimesteps(steps);
        Tensor sample = (randn(shape, generator: generator) * scheduler.InitNoiseSigma).to(device); // x_T
        Tensor timesteps = scheduler.Timesteps;
        Tensor modelTimesteps = timesteps.to(device); // once: each copy to a GPU would wait for the work queued on it
        int total = (int)timesteps.shape[0];
        for (int i = 0; i < total; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            Tensor t = timesteps[i];
            Tensor input = scheduler.ScaleModelInput(sample, t).to(modelType);
            Tensor prediction = predict(input, modelTimesteps[i]).to(float32);
            Tensor next = scheduler.Step(prediction, t, sample, generator).PrevSample;   // x_{t-1}
            sample.Dispose();
            sample = next.MoveToOuterDisposeScope();
            progress?.Report(new SamplingProgress(i + 1, total, t.to(float64).item<double>(), batch, batches));
        }

        return sample.div(2).add_(0.5).clamp_(0, 1).to(float32).cpu().MoveToOuterDisposeScope(); // [−1, 1] → [0, 1]
    }
}
