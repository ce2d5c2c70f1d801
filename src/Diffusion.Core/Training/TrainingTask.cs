using Microsoft.Extensions.Logging;
using TorchSharp.Modules;

namespace Diffusion.Training;

/// <summary>
/// What a trainer supplies to the training engine (<see cref="TrainingLoop{TBatch}"/>): its data order and its
/// loss. Everything else (optimizer, schedule, accumulation, clipping, NaN policy, EMA, checkpoints, resume,
/// progress, cancellation) is the engine's. A task is one <c>Fit</c> call: its constructor readies the data order and
/// ends with <see cref="StartEngine"/>; <see cref="Engine"/> then runs it, and disposing the task disposes the engine.
/// </summary>
/// <typeparam name="TBatch">One micro-batch as the data order hands it over; the engine disposes it after its step.</typeparam>
internal abstract class TrainingTask<TBatch> : IDisposable
    where TBatch : IDisposable
{
    private TrainingLoop<TBatch>? engine;

    /// <summary>The engine running this task, from <see cref="StartEngine"/>.</summary>
    protected TrainingLoop<TBatch> Engine => engine ?? throw new InvalidOperationException("StartEngine has not been called.");

    /// <summary>Items in the dataset; checkpoints record it, and a resume needs the same count.</summary>
    public abstract int DatasetCount { get; }

    /// <summary>Micro-batches in one epoch (whole batches only).</summary>
    public abstract int BatchesPerEpoch { get; }

    /// <summary>Time spent waiting for data in this run so far.</summary>
    public virtual TimeSpan DataWait => TimeSpan.Zero;

    /// <summary>
    /// The micro-batches of <paramref name="epoch"/> from <paramref name="firstBatch"/> on, in an order fixed by
    /// (seed, epoch, index) alone, so a resumed run sees exactly the batches an uninterrupted one would.
    /// </summary>
    public abstract IEnumerable<TBatch> Epoch(int epoch, int firstBatch, CancellationToken cancellationToken);

    /// <summary>
    /// The forward pass: the micro-batch's mean loss as a scalar tensor. Runs inside the step's dispose scope.
    /// </summary>
    /// <param name="batch">The micro-batch.</param>
    /// <param name="generator">The engine's CPU generator (noise, timesteps); its state is checkpointed.</param>
    public abstract Tensor Loss(TBatch batch, Generator generator);

    /// <summary>Items (images, pairs) in a micro-batch, for the throughput.</summary>
    public abstract long ItemCount(TBatch batch);

    /// <summary>Runs after each optimizer update, before the EMA sees the weights (CLIP clamps <c>logit_scale</c> here).</summary>
    public virtual void AfterOptimizerStep()
    {
    }

    /// <summary>Adds the trainer's own entries to a checkpoint's metadata (next to the training state).</summary>
    public virtual void AddCheckpointMetadata(IDictionary<string, string> metadata)
    {
    }

    /// <summary>Refuses a checkpoint whose metadata says it cannot continue this run; called before anything is loaded.</summary>
    public virtual void CheckCheckpointMetadata(IReadOnlyDictionary<string, string> metadata, string path)
    {
    }

    /// <summary>Disposes the engine (a task that owns more, such as a data loader, disposes that too).</summary>
    public virtual void Dispose() => engine?.Dispose();

    /// <summary>
    /// Sets up the engine over this task (see <see cref="TrainingLoop{TBatch}"/>'s constructor for the arguments): the
    /// last step of a task's constructor, as the engine reads <see cref="DatasetCount"/> at once.
    /// </summary>
    /// <exception cref="ArgumentException">The dataset is too small for one optimizer step, or nothing is trainable.</exception>
    protected void StartEngine(IReadOnlyList<(string Prefix, nn.Module Module)> modules, TrainingOptions options, int batchSize, bool bfloat16,
        Func<string, Parameter, bool>? decays, ILogger logger, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken) =>
        engine = new TrainingLoop<TBatch>(this, modules, options, batchSize, bfloat16, decays, logger, progress, cancellationToken);
}
