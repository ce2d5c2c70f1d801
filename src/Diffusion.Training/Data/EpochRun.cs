using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Diffusion.Data;

/// <summary>
/// The worker threads of one <see cref="DataLoader.Epoch"/> enumeration. Workers claim batch numbers in
/// increasing order, each holding one of <c>Prefetch</c> tickets from claim until the consumer takes
/// that batch, so at most <c>Prefetch</c> batches exist ahead of the consumer and the batch it waits for
/// is always claimed first (no deadlock). Batches are handed over by number, so the consumer gets them in
/// order whatever the timing; a failed batch carries its exception to the consumer at its place.
/// </summary>
internal sealed class EpochRun : IDisposable
{
    private readonly BatchBuilder builder;
    private readonly int epoch;
    private readonly int[] order;
    private readonly int endBatch;
    private readonly CancellationToken external;
    private readonly CancellationTokenSource stop;
    private readonly SemaphoreSlim tickets;
    private readonly Thread[] threads;
    private readonly object gate = new();
    private readonly Dictionary<int, (ImageBatch? Batch, ExceptionDispatchInfo? Error)> ready = [];
    private readonly CancellationTokenRegistration wake;
    private int nextBatch;
    private int disposed;

    public EpochRun(BatchBuilder builder, int epoch, int[] order, int firstBatch, int endBatch, int workers, int prefetch, CancellationToken cancellationToken)
    {
        this.builder = builder;
        this.epoch = epoch;
        this.order = order;
        this.endBatch = endBatch;
        external = cancellationToken;
        nextBatch = firstBatch;
        stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        tickets = new SemaphoreSlim(prefetch, prefetch);
        wake = stop.Token.Register(() =>
        {
            lock (gate)
            {
                Monitor.PulseAll(gate);
            }
        });
        threads = new Thread[workers];
        for (int i = 0; i < workers; i++)
        {
            threads[i] = new Thread(Work) { IsBackground = true, Name = $"DataLoader worker {i}" };
            threads[i].Start();
        }
    }

    /// <summary>Returns batch <paramref name="batch"/> (the next in order), waiting for a worker if needed.</summary>
    /// <param name="batch">The batch number; callers take batches in increasing order.</param>
    /// <param name="waited">How long this call blocked.</param>
    public ImageBatch Take(int batch, out TimeSpan waited)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
            if (threads.Length == 0)
            {
                external.ThrowIfCancellationRequested();
                return builder.Build(epoch, batch, order, external);
            }

            (ImageBatch? Batch, ExceptionDispatchInfo? Error) result;
            lock (gate)
            {
                // Cancellation wins over a batch that is already built: it stays in `ready` and Dispose frees it.
                external.ThrowIfCancellationRequested();
                while (!ready.Remove(batch, out result))
                {
                    external.ThrowIfCancellationRequested();
                    ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
                    Monitor.Wait(gate);
                }

                // Under the lock: Dispose clears the batches under it before disposing the tickets.
                tickets.Release();
            }

            result.Error?.Throw();
            return result.Batch!;
        }
        finally
        {
            waited = Stopwatch.GetElapsedTime(started);
        }
    }

    /// <summary>Stops the workers, waits for them, and disposes every batch not handed over.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        stop.Cancel();
        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        lock (gate)
        {
            foreach ((ImageBatch? batch, _) in ready.Values)
            {
                batch?.Dispose();
            }

            ready.Clear();
        }

        wake.Dispose();
        stop.Dispose();
        tickets.Dispose();
    }

    private void Work()
    {
        CancellationToken token = stop.Token;
        try
        {
            while (true)
            {
                tickets.Wait(token);
                int batch = Interlocked.Increment(ref nextBatch) - 1;
                if (batch >= endBatch)
                {
                    tickets.Release();
                    return;
                }

                (ImageBatch?, ExceptionDispatchInfo?) result;
                try
                {
                    result = (builder.Build(epoch, batch, order, token), null);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    result = (null, ExceptionDispatchInfo.Capture(e));
                }

                lock (gate)
                {
                    ready.Add(batch, result);
                    Monitor.PulseAll(gate);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopped while waiting for a ticket.
        }
    }
}
