namespace Diffusion.Training;

/// <summary>
/// What a trainer supplies to the training engine (<see cref="TrainingLoop{TBatch}"/>): its data order and its
/// loss. Everything else (optimizer, schedule, accumulation, clipping, NaN policy, EMA, checkpoints, resume,
/// progress, cancellation) is the engine's.
/// </summary>
/// <typeparam name="TBatch">One micro-batch as the data order hands it over; the engine disposes it after its step.</typeparam>
internal abstract class TrainingTask<TBatch>
    where TBatch : IDisposable
{
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
}
