using BenchmarkDotNet.Attributes;
using Diffusion.Benchmarks.Reporting;
using Diffusion.Data;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks;

/// <summary>
/// Training data throughput: <see cref="ProceduralFlowers"/> drawing (decode) plus the book's augmentation
/// (random horizontal flip), on one thread and through the <see cref="DataLoader"/> (batch 32, one worker per core).
/// </summary>
[MemoryDiagnoser]
public class DataLoaderBenchmarks
{
    private const int Items = 64;
    private const int EpochItems = 256;
    private ProceduralFlowers flowers = null!;
    private DataLoader loader = null!;
    private readonly RandomHorizontalFlip flip = new();
    private int epoch;
    private string method = "";

    /// <summary>Side of the images.</summary>
    [Params(32, 64)]
    public int ImageSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkEnvironment.ResetPeakRss();
        flowers = new ProceduralFlowers(EpochItems, ImageSize, seed: 0);
        loader = new DataLoader(flowers, new DataLoaderOptions { BatchSize = 32, Seed = 1, Workers = Environment.ProcessorCount, Prefetch = 4 });
        CaseRecords.SetImages(this, nameof(DrawAndFlip), Items);
        CaseRecords.SetImages(this, nameof(LoaderEpoch), EpochItems);
    }

    /// <summary>64 items drawn and flipped on the calling thread.</summary>
    [Benchmark]
    public void DrawAndFlip()
    {
        method = nameof(DrawAndFlip);
        using var scope = NewDisposeScope();
        for (int i = 0; i < Items; i++)
        {
            using var inner = NewDisposeScope();
            ImageItem item = flowers.GetItem(i);
            flip.Apply(item.Image, DeterministicRandom.FromKeys(7, i));
        }
    }

    /// <summary>One epoch of 256 items in batches of 32 through the loader's worker threads.</summary>
    [Benchmark]
    public int LoaderEpoch()
    {
        method = nameof(LoaderEpoch);
        int count = 0;
        foreach (ImageBatch batch in loader.Epoch(epoch++))
        {
            using (batch)
            {
                count += batch.Count;
            }
        }

        return count;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        CaseRecords.RecordMemory(this, method);
        loader.Dispose();
    }
}
