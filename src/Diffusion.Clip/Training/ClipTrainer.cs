using System.Globalization;
using Diffusion.Optimization;
using Diffusion.Training;
using Microsoft.Extensions.Logging;

namespace Diffusion.Clip;

/// <summary>
/// Trains a <see cref="ClipModel"/> contrastively on captioned images: each step embeds a batch of images and their
/// captions, and the loss pulls matched pairs together and pushes the batch's other pairs apart. It runs on the
/// library's one training engine, as <c>Trainer</c> does: AdamW with linear warm-up and cosine decay
/// (<see cref="WarmupCosineSchedule"/>), gradient clipping and accumulation, the NaN policy, optional EMA,
/// single-file checkpoints with the optimizer state and automatic exact resume; <c>logit_scale</c> is clamped to
/// [0, ln 100] after every step (as open_clip).
/// </summary>
/// <remarks>Synchronous; one step at a time on the model's device. Not thread-safe. Disposing the trainer disposes <see cref="SigLip"/>, not the model.</remarks>
public sealed class ClipTrainer : IDisposable
{
    /// <summary>Checkpoint metadata entry naming the loss a checkpoint was trained with.</summary>
    internal const string LossMetadataKey = "diffusion.clip.loss";

    /// <summary>Creates a trainer.</summary>
    /// <param name="model">The model to train in place; it must have a <see cref="ClipModel.Tokenizer"/>.</param>
    /// <param name="options">Settings; null takes the defaults. Validated.</param>
    /// <exception cref="ArgumentException">The options break a rule (every violation is listed), or the model has no tokenizer.</exception>
    public ClipTrainer(ClipModel model, ClipTrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new ClipTrainerOptions();
        options.Validate();
        if (model.Tokenizer is null)
        {
            throw new ArgumentException("model must have a Tokenizer to turn captions into ids.", nameof(model));
        }

        Model = model;
        Options = options;
        SigLip = options.Loss == ClipLossKind.SigLip ? new SigLipLoss() : null;
        Logger = options.LoggerFactory.CreateLogger<ClipTrainer>();
    }

    /// <summary>The model being trained.</summary>
    public ClipModel Model { get; }

    /// <summary>The settings.</summary>
    public ClipTrainerOptions Options { get; }

    /// <summary>The SigLIP loss (and its learned bias) when <see cref="ClipTrainerOptions.Loss"/> is <see cref="ClipLossKind.SigLip"/>; otherwise null. The trainer owns it.</summary>
    public SigLipLoss? SigLip { get; }

    internal ILogger Logger { get; }

    /// <summary>Disposes <see cref="SigLip"/> (the model stays with its owner).</summary>
    public void Dispose() => SigLip?.Dispose();

    /// <summary>
    /// Trains on <paramref name="dataset"/> until <see cref="TrainingOptions.MaxSteps"/> (or the epochs), the time
    /// limit or cancellation, resuming from the newest checkpoint in <see cref="TrainingOptions.CheckpointDirectory"/>
    /// when there is one.
    /// </summary>
    /// <param name="dataset">At least 2 image–caption pairs, and at least one optimizer step's worth.</param>
    /// <param name="progress">Told after every optimizer step; optional.</param>
    /// <param name="cancellationToken">Stops training after the current step; a resumable checkpoint is written first when a folder is set, and the result says <see cref="ClipTrainingResult.Cancelled"/> (no exception).</param>
    /// <returns>What happened.</returns>
    /// <exception cref="ArgumentException">The dataset is too small or an item is not a <c>[3,H,W]</c> image.</exception>
    /// <exception cref="InvalidDataException">The checkpoint to resume from is broken or does not fit the model; nothing was loaded.</exception>
    /// <exception cref="InvalidOperationException">The checkpoint to resume from was trained with another loss, batch size, seed or dataset size,
    /// or the folder holds only checkpoint folders of an earlier version (the message says how to continue from them).</exception>
    /// <exception cref="NonFiniteLossException">A loss or gradient norm was NaN or infinite under <see cref="NonFiniteLossPolicy.Stop"/>.</exception>
    public ClipTrainingResult Fit(IClipDataset dataset, IProgress<ClipTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Count < 2)
        {
            throw new ArgumentException($"dataset must hold at least 2 pairs; got {dataset.Count}.", nameof(dataset));
        }

        if (Options.CheckpointDirectory is { } folder)
        {
            RefuseOldCheckpointFolders(folder);
        }

        using var run = new ClipTrainingRun(this, dataset, progress, cancellationToken);
        return run.Execute();
    }

    /// <summary>
    /// Earlier versions wrote one folder per checkpoint (<c>checkpoint-000100/</c> with <c>trainer_state.json</c>) and
    /// resumed only when told to. Such a folder alone is not resumed silently from step 0: the message says how to go on.
    /// </summary>
    private static void RefuseOldCheckpointFolders(string folder)
    {
        if (!Directory.Exists(folder) || TrainingCheckpoint.FindLatest(folder) is not null)
        {
            return;
        }

        string? newest = Directory.EnumerateDirectories(folder, "checkpoint-*")
            .Where(d => File.Exists(Path.Combine(d, "trainer_state.json")))
            .Order(StringComparer.Ordinal).LastOrDefault();
        if (newest is null)
        {
            return;
        }

        string name = Path.GetFileName(newest);
        string step = long.TryParse(name["checkpoint-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out long s) ? s.ToString(CultureInfo.InvariantCulture) : "its step";
        throw new InvalidOperationException(
            $"CheckpointDirectory '{folder}' holds checkpoint folders of an earlier ClipTrainer ('{name}/'); ClipTrainer now writes single files " +
            "(checkpoint-00000100.safetensors) and resumes from them by itself. To go on from that folder: load it with " +
            $"ClipModel.Load(\"{newest}\") and train that model with InitialStep = {step} and another CheckpointDirectory " +
            "(AdamW's moments are refilled over MomentWarmupSteps). To start afresh, use another CheckpointDirectory.");
    }
}
