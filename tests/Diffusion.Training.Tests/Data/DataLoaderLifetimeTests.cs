using Diffusion.Data;
using static TorchSharp.torch;

namespace Diffusion.Tests.Data;

/// <summary>Runs alone: it counts live tensors process-wide (<see cref="Tensor.TotalCount"/>).</summary>
[CollectionDefinition(nameof(DataLoaderLifetimeTests), DisableParallelization = true)]
public sealed class DataLoaderLifetimeCollection
{
}

[Collection(nameof(DataLoaderLifetimeTests))]
public sealed class DataLoaderLifetimeTests
{
    [Fact]
    public void LiveTensorCountStaysFlatOverManyEpochs()
    {
        using var loader = new DataLoader(new FakeDataset(24), new DataLoaderOptions { BatchSize = 4, Workers = 3 });
        DataLoaderTests.Collect(loader.Epoch(0));
        long before = Tensor.TotalCount;
        for (int epoch = 1; epoch <= 20; epoch++)
        {
            DataLoaderTests.Collect(loader.Epoch(epoch));
        }

        // Other tests' tensors can only be finalised meanwhile, never created: the count may fall, not rise.
        Assert.True(Tensor.TotalCount <= before, $"{Tensor.TotalCount - before} tensors leaked over 20 epochs");
    }

    [Fact]
    public void BreakingEarlyStopsWorkersAndDisposesPrefetchedBatches()
    {
        var dataset = new FakeDataset(400) { DelayMilliseconds = 2 };
        using var loader = new DataLoader(dataset, new DataLoaderOptions { BatchSize = 4, Workers = 3, Prefetch = 4 });
        long before = Tensor.TotalCount;
        foreach (ImageBatch batch in loader.Epoch(0))
        {
            batch.Dispose();
            Thread.Sleep(50); // let the workers fill the queue
            break;
        }

        int reads = dataset.TotalReads;
        Thread.Sleep(100);
        Assert.Equal(reads, dataset.TotalReads);
        Assert.True(reads <= 4 * (1 + 4 + 3), $"{reads} items read: more than the prefetch bound allows");
        Assert.True(Tensor.TotalCount <= before, $"{Tensor.TotalCount - before} tensors left after break");
    }

    [Fact]
    public void CancellationStopsTheEpoch()
    {
        var dataset = new FakeDataset(200) { DelayMilliseconds = 2 };
        using var loader = new DataLoader(dataset, new DataLoaderOptions { BatchSize = 4, Workers = 2 });
        using var cancellation = new CancellationTokenSource();
        long before = Tensor.TotalCount;
        int delivered = 0;
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (ImageBatch batch in loader.Epoch(0, cancellationToken: cancellation.Token))
            {
                batch.Dispose();
                if (++delivered == 2)
                {
                    cancellation.Cancel();
                }
            }
        });
        Assert.Equal(2, delivered);
        int reads = dataset.TotalReads;
        Thread.Sleep(50);
        Assert.Equal(reads, dataset.TotalReads);
        Assert.True(Tensor.TotalCount <= before);
        Assert.ThrowsAny<OperationCanceledException>(() => loader.Epoch(1, cancellationToken: cancellation.Token).First());
    }

    [Fact]
    public void DisposingTheLoaderStopsARunningEpoch()
    {
        var dataset = new FakeDataset(200) { DelayMilliseconds = 2 };
        var loader = new DataLoader(dataset, new DataLoaderOptions { BatchSize = 4, Workers = 2 });
        using IEnumerator<ImageBatch> epoch = loader.Epoch(0).GetEnumerator();
        Assert.True(epoch.MoveNext());
        epoch.Current.Dispose();
        loader.Dispose();
        int reads = dataset.TotalReads;
        Thread.Sleep(50);
        Assert.Equal(reads, dataset.TotalReads);
        Assert.Throws<ObjectDisposedException>(() => epoch.MoveNext());
    }
}
