using Diffusion.Schedulers;

namespace Diffusion.Pipelines;

/// <summary>
/// The reverse process every pipeline runs (DiffusionPipeline, TextToImagePipeline, StableDiffusionPipeline): the starting
/// noise from the CPU generator, the scheduler's steps around a model call, classifier-free guidance, and the map from
/// [−1, 1] to images in [0, 1]. Pipelines differ only in what they feed the model and what they do with the result.
/// </summary>
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
        Tensor start = InitialNoise(scheduler, shape, generator).to(device); // x_T
        Tensor sample = Denoise(scheduler, start, scheduler.Timesteps, generator, modelType, predict, batch, batches, progress, cancellationToken);
        return ToUnitRange(sample).MoveToOuterDisposeScope();
    }

    /// <summary>x_T = <c>randn(shape, generator) · σ_init</c> on the CPU (diffusers' <c>prepare_latents</c> with a CPU generator).</summary>
    /// <param name="scheduler">Supplies σ_init (<see cref="INoiseScheduler.InitNoiseSigma"/>, after <see cref="INoiseScheduler.SetTimesteps"/>).</param>
    /// <param name="shape">[N, C, H, W].</param>
    /// <param name="generator">The CPU generator.</param>
    /// <returns>A new float32 CPU tensor; the caller (or its dispose scope) owns it.</returns>
    public static Tensor InitialNoise(INoiseScheduler scheduler, long[] shape, Generator generator)
    {
        using var scope = NewDisposeScope();
        return (randn(shape, generator: generator) * scheduler.InitNoiseSigma).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Steps <paramref name="sample"/> through <paramref name="timesteps"/>: scale the input, ask <paramref name="predict"/>,
    /// take a scheduler step, one dispose scope per step. The scheduler must already be set (and, mid-schedule, told its begin index).
    /// </summary>
    /// <param name="scheduler">The set scheduler.</param>
    /// <param name="sample">The starting sample (float32) on the model's device; left to the caller.</param>
    /// <param name="timesteps">The timesteps to run, highest first (all of <see cref="INoiseScheduler.Timesteps"/>, or a tail for image-to-image).</param>
    /// <param name="generator">CPU generator for the scheduler's noise.</param>
    /// <param name="modelType">The model's dtype; its inputs are cast to it.</param>
    /// <param name="predict">(scaled input on the device in <paramref name="modelType"/>, timestep on the device) → model output.</param>
    /// <param name="batch">Index of this batch, for progress reports.</param>
    /// <param name="batches">Number of batches, for progress reports.</param>
    /// <param name="progress">Receives a report after every step.</param>
    /// <param name="cancellationToken">Checked before every step.</param>
    /// <returns>The final sample, float32 on the sample's device; the caller owns it.</returns>
    public static Tensor Denoise(INoiseScheduler scheduler, Tensor sample, Tensor timesteps, Generator generator, ScalarType modelType,
        Func<Tensor, Tensor, Tensor> predict, int batch, int batches, IProgress<SamplingProgress>? progress, CancellationToken cancellationToken)
    {
        using var outer = NewDisposeScope();
        Tensor current = sample.alias();
        Tensor modelTimesteps = timesteps.to(sample.device); // once: each copy to a GPU would wait for the work queued on it
        int total = (int)timesteps.shape[0];
        for (int i = 0; i < total; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            Tensor t = timesteps[i];
            Tensor input = scheduler.ScaleModelInput(current, t).to(modelType);
            Tensor prediction = predict(input, modelTimesteps[i]).to(float32);
            Tensor next = scheduler.Step(prediction, t, current, generator).PrevSample;   // x_{t-1}
            current.Dispose();
            current = next.MoveToOuterDisposeScope();
            progress?.Report(new SamplingProgress(i + 1, total, t.to(float64).item<double>(), batch, batches));
        }

        return current.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Classifier-free guidance (Ho &amp; Salimans, 2022) from one batched forward pass: <paramref name="predictBoth"/> gets
    /// <c>[input; input]</c> and returns the predictions <c>[unconditional; conditional]</c>; the result is
    /// ε_u + s·(ε_c − ε_u), as diffusers' pipelines compute it.
    /// </summary>
    /// <param name="input">The scaled model input <c>[n, …]</c>.</param>
    /// <param name="guidanceScale">s.</param>
    /// <param name="predictBoth">The model on the doubled batch, its conditioning laid out unconditional half first.</param>
    /// <returns>The guided prediction <c>[n, …]</c>; the caller (or its dispose scope) owns it.</returns>
    public static Tensor Guided(Tensor input, double guidanceScale, Func<Tensor, Tensor> predictBoth)
    {
        using var scope = NewDisposeScope();
        Tensor[] halves = predictBoth(cat([input, input], 0)).chunk(2, 0);                        // 2 × [n, …]: (uncond, cond)
        Tensor unconditional = halves[0];
        Tensor conditional = halves[1];
        return (unconditional + ((conditional - unconditional) * guidanceScale)).MoveToOuterDisposeScope();
    }

    /// <summary>How a pipeline splits <paramref name="total"/> images into batches of at most <paramref name="batchSize"/>
    /// (null: one batch): each batch's first image, its size, its index and the number of batches.</summary>
    public static IEnumerable<(int Start, int Count, int Index, int Batches)> Batches(int total, int? batchSize)
    {
        int perBatch = batchSize ?? total;
        int batches = (total + perBatch - 1) / perBatch;
        for (int b = 0; b < batches; b++)
        {
            yield return (b * perBatch, Math.Min(perBatch, total - (b * perBatch)), b, batches);
        }
    }

    /// <summary>Maps [−1, 1] to [0, 1] (x/2 + 0.5, clamped), float32 on the CPU: diffusers' <c>denormalize</c>.</summary>
    /// <param name="x">Images in [−1, 1] on any device.</param>
    /// <returns>A new tensor; the caller (or its dispose scope) owns it.</returns>
    public static Tensor ToUnitRange(Tensor x)
    {
        using var scope = NewDisposeScope();
        return x.div(2).add_(0.5).clamp_(0, 1).to(float32).cpu().MoveToOuterDisposeScope();
    }
}
