using Diffusion.Data;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Data;

public sealed class DataLoaderTests
{
    [Fact]
    public void BatchesHaveTheDocumentedShapes()
    {
        var dataset = new FakeDataset(10);
        using var dropping = new DataLoader(dataset, new DataLoaderOptions { BatchSize = 4, Shuffle = false, Workers = 2 });
        using var keeping = new DataLoader(dataset, new DataLoaderOptions { BatchSize = 4, Shuffle = false, DropLast = false, Workers = 2 });
        Assert.Equal(2, dropping.BatchesPerEpoch);
        Assert.Equal(3, keeping.BatchesPerEpoch);

        var batches = keeping.Epoch(0).ToList();
        try
        {
            Assert.Equal([4, 4, 2], batches.Select(b => b.Count));
            Assert.Equal([0, 1, 2], batches.Select(b => b.Index));
            ImageBatch first = batches[0];
            Assert.Equal(ScalarType.Float32, first.Images.dtype);
            Assert.Equal([4L, 3, 4, 4], first.Images.shape);
            Assert.Equal(ScalarType.Int64, first.Labels!.dtype);
            Assert.Equal([0L, 1, 2, 3], first.Labels.data<long>().ToArray());
            Assert.Equal(["item 8", "item 9"], batches[2].Captions);
            Assert.Equal([8, 9], batches[2].Indices);
            Assert.All(batches, b => Assert.Equal(0, b.Epoch));
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }

        using var unlabelled = new DataLoader(new FakeDataset(4, labelled: false), new DataLoaderOptions { BatchSize = 2, Workers = 0 });
        foreach (ImageBatch batch in unlabelled.Epoch(0))
        {
            using (batch)
            {
                Assert.Null(batch.Labels);
            }
        }
    }

    [Fact]
    public void EachEpochIsASeededPermutation()
    {
        var dataset = new FakeDataset(23);
        var options = new DataLoaderOptions { BatchSize = 5, DropLast = false, Seed = 11, Workers = 2, Transforms = [] };
        using var loader = new DataLoader(dataset, options);
        using var twin = new DataLoader(dataset, options);
        using var other = new DataLoader(dataset, options with { Seed = 12 });
        int[] epoch0 = Indices(loader, 0);
        Assert.Equal(Enumerable.Range(0, 23), epoch0.Order());
        Assert.Equal(loader.Order(0), epoch0);
        Assert.Equal(epoch0, Indices(twin, 0));
        Assert.NotEqual(epoch0, Indices(loader, 1));
        Assert.NotEqual(epoch0, Indices(other, 0));
        Assert.Equal(Enumerable.Range(0, 23), new DataLoader(dataset, options with { Shuffle = false }).Order(4));
    }

    [Fact]
    public void BatchesAreIdenticalForAnyWorkerCountAndPrefetch()
    {
        var flowers = new ProceduralFlowers(count: 40, imageSize: 16, seed: 4);
        float[][] Run(int workers, int prefetch)
        {
            using var loader = new DataLoader(flowers, new DataLoaderOptions { BatchSize = 8, Seed = 3, Workers = workers, Prefetch = prefetch });
            var result = new List<float[]>();
            foreach (ImageBatch batch in loader.Epoch(2))
            {
                using (batch)
                {
                    result.Add(batch.Images.data<float>().ToArray());
                }
            }

            return [.. result];
        }

        float[][] inline = Run(0, 1);
        Assert.Equal(5, inline.Length);
        Assert.Equal(inline, Run(1, 1));
        Assert.Equal(inline, Run(3, 2));
        Assert.Equal(inline, Run(4, 8));
    }

    [Fact]
    public void ResumingSkipsBatchesWithoutReadingThem()
    {
        var options = new DataLoaderOptions { BatchSize = 4, Seed = 5, Workers = 2 };
        var full = new FakeDataset(32);
        var resumed = new FakeDataset(32);
        using var fullLoader = new DataLoader(full, options);
        using var resumedLoader = new DataLoader(resumed, options);
        List<(int[] Indices, float[] Pixels)> all = Collect(fullLoader.Epoch(3));
        List<(int[] Indices, float[] Pixels)> tail = Collect(resumedLoader.Epoch(3, skipBatches: 5));
        Assert.Equal(3, tail.Count);
        for (int k = 0; k < 3; k++)
        {
            Assert.Equal(all[5 + k].Indices, tail[k].Indices);
            Assert.Equal(all[5 + k].Pixels, tail[k].Pixels);
        }

        Assert.All(all.Take(5).SelectMany(b => b.Indices), i => Assert.Equal(0, resumed.Reads(i)));
        Assert.Empty(Collect(resumedLoader.Epoch(3, skipBatches: 8)));
    }

    [Fact]
    public void FlipsFollowTheItemsOwnStream()
    {
        var dataset = new FakeDataset(12, imageSize: 3);
        var options = new DataLoaderOptions { BatchSize = 4, Seed = 9, Shuffle = false, Workers = 2 };
        using var loader = new DataLoader(dataset, options);
        int flipped = 0;
        foreach (ImageBatch batch in loader.Epoch(1))
        {
            using (batch)
            {
                for (int j = 0; j < batch.Count; j++)
                {
                    int index = batch.Indices[j];
                    bool expectFlip = DeterministicRandom.FromKeys(BatchBuilder.AugmentTag, 9, 1, index).NextDouble() < 0.5;
                    using var original = torch.tensor(FakeDataset.PixelsOf(index, 3), [3, 3, 3]);
                    using Tensor expected = expectFlip ? original.flip(-1) : original.alias();
                    using Tensor image = batch.Images[j];
                    Assert.True(image.equal(expected).all().item<bool>(), $"item {index}: flip {expectFlip}");
                    flipped += expectFlip ? 1 : 0;
                }
            }
        }

        Assert.InRange(flipped, 1, 11);
        using var always = new DataLoader(dataset, options with { Transforms = [new RandomHorizontalFlip(1.0)] });
        using ImageBatch first = always.Epoch(0).First();
        using var zero = torch.tensor(FakeDataset.PixelsOf(0, 3), [3, 3, 3]);
        using Tensor zeroFlipped = zero.flip(-1);
        using Tensor firstImage = first.Images[0];
        Assert.True(firstImage.equal(zeroFlipped).all().item<bool>());
    }

    [Fact]
    public void AnErrorSurfacesAtItsBatchWithThePath()
    {
        var dataset = new FakeDataset(16) { Unreadable = [9] };
        using var loader = new DataLoader(dataset, new DataLoaderOptions { BatchSize = 4, Shuffle = false, Workers = 3 });
        var delivered = new List<int>();
        var e = Assert.Throws<InvalidDataException>(() =>
        {
            foreach (ImageBatch batch in loader.Epoch(0))
            {
                delivered.Add(batch.Index);
                batch.Dispose();
            }
        });
        Assert.Equal("Image '/data/9.png' is truncated (Skia: IncompleteInput).", e.Message);
        Assert.Equal([0, 1], delivered);
    }

    [Fact]
    public void SkipAndLogSubstitutesTheNextReadableItem()
    {
        var logs = new CapturingLoggerFactory();
        var dataset = new FakeDataset(12) { Unreadable = [3, 4, 11] };
        var options = new DataLoaderOptions { BatchSize = 4, Shuffle = false, Workers = 2, OnError = DataErrorHandling.SkipAndLog, LoggerFactory = logs, Transforms = [] };
        using var loader = new DataLoader(dataset, options);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            int[] indices = Indices(loader, epoch);
            Assert.Equal([0, 1, 2, 5, 5, 5, 6, 7, 8, 9, 10, 0], indices);
        }

        string[] warnings = [.. logs.Messages.Where(m => m.Level == LogLevel.Warning).Select(m => m.Message).Order(StringComparer.Ordinal)];
        Assert.Equal(3, warnings.Length);
        Assert.Contains("Skipping item 3 (epoch 0): Image '/data/3.png' is truncated (Skia: IncompleteInput). Item 5 takes its place.", warnings);

        var hopeless = new FakeDataset(4) { Unreadable = [0, 1, 2, 3] };
        using var failing = new DataLoader(hopeless, options with { LoggerFactory = null });
        var e = Assert.Throws<InvalidDataException>(() => Indices(failing, 0));
        Assert.StartsWith("None of the 4 items of the dataset can be read", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConsumerScopesDoNotOwnBatchTensors()
    {
        foreach (int workers in new[] { 0, 2 })
        {
            using var loader = new DataLoader(new FakeDataset(8), new DataLoaderOptions { BatchSize = 4, Workers = workers });
            ImageBatch batch;
            using (DisposeScope scope = torch.NewDisposeScope())
            {
                batch = loader.Epoch(0).First();
            }

            using (batch)
            {
                Assert.False(batch.Images.IsInvalid);
                Assert.True(batch.Images.sum().item<float>() > 0);
            }
        }
    }

    [Fact]
    public void WaitTimeIsMeasured()
    {
        var dataset = new FakeDataset(8) { DelayMilliseconds = 15 };
        using var loader = new DataLoader(dataset, new DataLoaderOptions { BatchSize = 2, Workers = 1, Prefetch = 1 });
        Assert.Equal(TimeSpan.Zero, loader.TotalWaitTime);
        Collect(loader.Epoch(0));
        Assert.True(loader.LastWaitTime > TimeSpan.Zero);
        Assert.True(loader.TotalWaitTime >= loader.LastWaitTime);
        Assert.True(loader.TotalWaitTime >= TimeSpan.FromMilliseconds(30), $"waited {loader.TotalWaitTime}");
    }

    [Fact]
    public void InvalidArgumentsAreExplained()
    {
        var e = Assert.Throws<ArgumentException>(() => new DataLoader(new FakeDataset(8), new DataLoaderOptions { BatchSize = 0, Workers = -1, Prefetch = 0, Transforms = null! }));
        Assert.Equal(
            string.Join(Environment.NewLine + " - ", "DataLoaderOptions is invalid:", "BatchSize must be at least 1; got 0", "Workers must be in [0, 256]; got -1",
                "Prefetch must be in [1, 1024]; got 0", "Transforms must not be null (use an empty list for none) (Parameter 'options')"),
            e.Message);
        var small = Assert.Throws<ArgumentException>(() => new DataLoader(new FakeDataset(3), new DataLoaderOptions { BatchSize = 4 }));
        Assert.StartsWith("With DropLast, the dataset's 3 items make no batch of 4", small.Message, StringComparison.Ordinal);
        var loader = new DataLoader(new FakeDataset(8), new DataLoaderOptions { BatchSize = 4 });
        var skip = Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch(0, skipBatches: 3));
        Assert.Contains("skipBatches must be in [0, 2]; got 3", skip.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch(-1));
        loader.Dispose();
        Assert.Throws<ObjectDisposedException>(() => loader.Epoch(0));
    }

    [Fact]
    public void TransformsMustKeepTheShape()
    {
        using var loader = new DataLoader(new FakeDataset(4), new DataLoaderOptions { BatchSize = 2, Workers = 1, Transforms = [new CropTransform()] });
        var e = Assert.Throws<InvalidOperationException>(() => Collect(loader.Epoch(0)));
        Assert.Equal("Transform crop must give float32 [3,4,4] images; got Float32 [3,2,2].", e.Message);
    }

    internal static int[] Indices(DataLoader loader, int epoch) => [.. Collect(loader.Epoch(epoch)).SelectMany(b => b.Indices)];

    internal static List<(int[] Indices, float[] Pixels)> Collect(IEnumerable<ImageBatch> batches)
    {
        var result = new List<(int[], float[])>();
        foreach (ImageBatch batch in batches)
        {
            using (batch)
            {
                result.Add(([.. batch.Indices], batch.Images.data<float>().ToArray()));
            }
        }

        return result;
    }

    private sealed class CropTransform : IImageTransform
    {
        public Tensor Apply(Tensor image, DeterministicRandom random) => image[.., ..2, ..2];

        public override string ToString() => "crop";
    }
}
