using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Diffusion.Data;

/// <summary>
/// Serves an <see cref="IImageDataset"/> as batches, epoch by epoch: a seeded shuffle, seeded
/// augmentations, and worker threads that decode ahead of the consumer (the counterpart of PyTorch's
/// <c>DataLoader</c>).
/// </summary>
/// <remarks>
/// <para>
/// Determinism: epoch <c>e</c> visits the items in a permutation drawn from (<see cref="DataLoaderOptions.Seed"/>, e)
/// (Fisher–Yates with <see cref="DeterministicRandom"/>), and item <c>i</c>'s augmentations draw from its own
/// stream (seed, e, i). So a batch's content depends only on the seed, the epoch and its position — not
/// on the worker count, on timing, or on whether earlier batches were skipped: resuming with
/// <c>skipBatches</c> continues exactly where a run stopped.
/// </para>
/// <para>
/// Batches arrive in order. The consumer owns each <see cref="ImageBatch"/> it receives and disposes it;
/// batches built but not yet received are disposed by the loader when the enumeration ends (normally,
/// by <c>break</c>, by an exception or by cancellation), which also stops and joins the workers.
/// </para>
/// </remarks>
public sealed class DataLoader : IDisposable
{
    /// <summary>Stream tag of the epoch permutations: (tag, seed, epoch).</summary>
    private const long ShuffleTag = 0x73687566; // "shuf"

    private readonly BatchBuilder builder;
    private readonly ILogger logger;
    private readonly HashSet<EpochRun> active = [];
    private long totalWaitTicks;
    private long lastWaitTicks;
    private bool disposed;

    /// <summary>Creates a loader; no thread starts until an epoch is enumerated.</summary>
    /// <param name="dataset">The items.</param>
    /// <param name="options">Batch size, shuffling, workers, transforms, error handling.</param>
    /// <exception cref="ArgumentException">An option is invalid (all violations listed), or <c>DropLast</c> leaves no batch.</exception>
    public DataLoader(IImageDataset dataset, DataLoaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (dataset.Count < 1)
        {
            throw new ArgumentException($"dataset must hold at least one item; got {dataset.Count}.", nameof(dataset));
        }

        if (options.DropLast && dataset.Count < options.BatchSize)
        {
            throw new ArgumentException($"With DropLast, the dataset's {dataset.Count} items make no batch of {options.BatchSize}; lower BatchSize or set DropLast = false.", nameof(options));
        }

        Dataset = dataset;
        Options = options;
        BatchesPerEpoch = options.DropLast ? dataset.Count / options.BatchSize : (dataset.Count + options.BatchSize - 1) / options.BatchSize;
        logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<DataLoader>();
        builder = new BatchBuilder(dataset, options, logger);
    }

    /// <summary>The dataset.</summary>
    public IImageDataset Dataset { get; }

    /// <summary>The settings.</summary>
    public DataLoaderOptions Options { get; }

    /// <summary>Batches in every epoch: Count / BatchSize, rounded down with <c>DropLast</c>, else up.</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>Total time the consumer has spent blocked waiting for batches, over all epochs.</summary>
    public TimeSpan TotalWaitTime => TimeSpan.FromTicks(Interlocked.Read(ref totalWaitTicks));

    /// <summary>How long the consumer waited for the last batch it received (zero before the first).</summary>
    public TimeSpan LastWaitTime => TimeSpan.FromTicks(Interlocked.Read(ref lastWaitTicks));

    /// <summary>The dataset indices in the order epoch <paramref name="epoch"/> visits them (before any skip-and-log substitution).</summary>
    /// <param name="epoch">The epoch, 0 or more.</param>
    /// <returns>A permutation of 0 … Count − 1 (the identity without <c>Shuffle</c>).</returns>
    public int[] Order(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        int[] order = [.. Enumerable.Range(0, Dataset.Count)];
        if (Options.Shuffle)
        {
            DeterministicRandom.FromKeys(ShuffleTag, Options.Seed, epoch).Shuffle(order.AsSpan());
        }

        return order;
    }

    /// <summary>Enumerates the batches of one epoch, in order, built ahead on the worker threads.</summary>
    /// <param name="epoch">The epoch number (0 or more); it selects the order and the augmentations.</param>
    /// <param name="skipBatches">Batches to leave out at the start (exact resume), 0 to <see cref="BatchesPerEpoch"/>; skipped batches are never read.</param>
    /// <param name="cancellationToken">Stops the workers; the enumeration then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The batches; the caller disposes each one. Workers start at the first <c>MoveNext</c> and stop when the enumerator is disposed.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> or <paramref name="skipBatches"/> is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The loader was disposed.</exception>
    public IEnumerable<ImageBatch> Epoch(int epoch, int skipBatches = 0, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (skipBatches < 0 || skipBatches > BatchesPerEpoch)
        {
            throw new ArgumentOutOfRangeException(nameof(skipBatches), skipBatches, $"skipBatches must be in [0, {BatchesPerEpoch}]; got {skipBatches}.");
        }

        return Enumerate(epoch, skipBatches, cancellationToken);
    }

    /// <summary>Stops any epoch still being enumerated and disposes its undelivered batches.</summary>
    public void Dispose()
    {
        EpochRun[] runs;
        lock (active)
        {
            disposed = true;
            runs = [.. active];
        }

        foreach (EpochRun run in runs)
        {
            run.Dispose();
        }
    }

    private IEnumerable<ImageBatch> Enumerate(int epoch, int skipBatches, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        int workers = Options.Workers;
        Log.EpochStarted(logger, epoch, BatchesPerEpoch, Options.BatchSize, Dataset.Count, skipBatches, workers);
        var run = new EpochRun(builder, epoch, Order(epoch), skipBatches, BatchesPerEpoch, workers, Options.Prefetch, cancellationToken);
        lock (active)
        {
            if (disposed)
            {
                run.Dispose();
                throw new ObjectDisposedException(nameof(DataLoader));
            }

            active.Add(run);
        }

        int delivered = 0;
        TimeSpan waitedThisEpoch = TimeSpan.Zero;
        try
        {
            for (int batch = skipBatches; batch < BatchesPerEpoch; batch++)
            {
                ImageBatch result = run.Take(batch, out TimeSpan waited);
                waitedThisEpoch += waited;
                Interlocked.Exchange(ref lastWaitTicks, waited.Ticks);
                Interlocked.Add(ref totalWaitTicks, waited.Ticks);
                delivered++;
                yield return result;
            }
        }
        finally
        {
            lock (active)
            {
                active.Remove(run);
            }

            run.Dispose();
            Log.EpochEnded(logger, epoch, delivered, waitedThisEpoch.TotalMilliseconds);
        }
    }
}
