using Diffusion.Data;
using Diffusion.Runtime;
using Diffusion.Schedulers;
using Microsoft.Extensions.Logging;
using TorchSharp.Modules;

namespace Diffusion.Training;

/// <summary>
/// Trains a denoising model the way the book does: clean images scaled to [−1, 1], a random timestep per
/// image, noise added by the scheduler, the model's prediction compared with the target (the noise, v or
/// x0, following the scheduler's prediction type) by an L1 loss, AdamW with a warm-up/cosine learning rate,
/// EMA weights, checkpoints and exact resume.
/// </summary>
/// <remarks>
/// <see cref="Fit"/> moves the model to the training device (and to bfloat16 while training when
/// <see cref="TrainerOptions.BFloat16"/> is set). When it returns, the model is float32 and holds the EMA
/// weights if <see cref="TrainingOptions.UseEma"/> is set (the raw weights stay in the checkpoint).
/// A trainer is not thread-safe; one <see cref="Fit"/> at a time.
/// </remarks>
public sealed partial class Trainer
{
    /// <summary>Creates a trainer for an unconditional denoiser such as <c>UNet</c>.</summary>
    /// <param name="model">The model: forward(noisy sample, timesteps) → prediction.</param>
    /// <param name="scheduler">The noise scheduler; its <see cref="INoiseScheduler.PredictionType"/> picks the target.</param>
    /// <param name="options">Options; null takes the defaults.</param>
    /// <exception cref="ArgumentException">The options are invalid (every violation is listed).</exception>
    public Trainer(nn.Module<Tensor, Tensor, Tensor> model, INoiseScheduler scheduler, TrainerOptions? options = null)
        : this(model, (sample, timesteps, _) => model.call(sample, timesteps), scheduler, options)
    {
    }

    /// <summary>Creates a trainer for any denoiser, given how to call it on a batch (conditional models).</summary>
    /// <param name="model">The module whose trainable parameters (those with requires_grad) are trained.</param>
    /// <param name="predict">Calls the model: (noisy sample, timesteps, batch) → prediction. Runs inside the step's dispose scope.</param>
    /// <param name="scheduler">The noise scheduler.</param>
    /// <param name="options">Options; null takes the defaults.</param>
    /// <exception cref="ArgumentException">The options are invalid (every violation is listed).</exception>
    public Trainer(nn.Module model, Func<Tensor, Tensor, ImageBatch, Tensor> predict, INoiseScheduler scheduler, TrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(predict);
        ArgumentNullException.ThrowIfNull(scheduler);
        TorchRuntime.EnsureAvailable();
        Options = options ?? new TrainerOptions();
        Options.Validate();
        Model = model;
        Predict = predict;
        Scheduler = scheduler;
        Logger = Options.LoggerFactory.CreateLogger<Trainer>();
    }

    /// <summary>The options this trainer runs with.</summary>
    public TrainerOptions Options { get; }

    /// <summary>The noise scheduler that adds noise and defines the target.</summary>
    public INoiseScheduler Scheduler { get; }

    internal nn.Module Model { get; }

    internal Func<Tensor, Tensor, ImageBatch, Tensor> Predict { get; }

    internal ILogger Logger { get; }

    /// <summary>
    /// Trains on <paramref name="dataset"/>, resuming from the newest checkpoint in
    /// <see cref="TrainingOptions.CheckpointDirectory"/> when there is one.
    /// </summary>
    /// <param name="dataset">The images (a caption or label per item is passed on to conditional models).</param>
    /// <param name="progress">Receives a report after every optimizer step.</param>
    /// <param name="cancellationToken">Stops training after the current step; a resumable checkpoint is saved first.</param>
    /// <returns>What the run did.</returns>
    /// <exception cref="NonFiniteLossException">A loss or gradient norm was NaN or infinite under <see cref="NonFiniteLossPolicy.Stop"/>, or the weights were not finite when a checkpoint was due; no checkpoint was written for it.</exception>
    /// <exception cref="InvalidOperationException">The checkpoint to resume from was made with another batch size, accumulation, seed or dataset size.</exception>
    /// <exception cref="ArgumentException"><paramref name="dataset"/> holds fewer items than one optimizer step needs.</exception>
    public TrainingResult Fit(IImageDataset dataset, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        using var run = new TrainingRun(this, dataset, progress, cancellationToken);
        return run.Execute();
    }
}
