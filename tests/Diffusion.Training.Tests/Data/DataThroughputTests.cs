using System.Diagnostics;
using Diffusion.Data;
using Xunit.Abstractions;

namespace Diffusion.Tests.Data;

/// <summary>
/// Throughput measurements, not checks: they run only with DIFFUSION_DATA_BENCH=1 (they take several
/// seconds and want otherwise idle cores) and print images per second.
/// </summary>
public sealed class DataThroughputTests(ITestOutputHelper output)
{
    private static bool Enabled => Environment.GetEnvironmentVariable("DIFFUSION_DATA_BENCH") == "1";

    [SkippableTheory]
    [InlineData(32)]
    [InlineData(64)]
    public void ProceduralFlowersImagesPerSecond(int size)
    {
        Skip.IfNot(Enabled, "Set DIFFUSION_DATA_BENCH=1 to measure throughput.");
        var flowers = new ProceduralFlowers(count: 100_000, imageSize: size, seed: 1);
        var buffer = new float[3 * size * size];
        for (int i = 0; i < 50; i++)
        {
            flowers.RenderInto(i, buffer);
        }

        int n = size == 32 ? 4000 : 1500;
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
        {
            flowers.RenderInto(1000 + i, buffer);
        }

        double single = n / watch.Elapsed.TotalSeconds;
        int threads = Environment.ProcessorCount;
        watch.Restart();
        Parallel.For(0, n * threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, () => new float[3 * size * size], (i, _, local) =>
        {
            flowers.RenderInto(i, local);
            return local;
        }, _ => { });
        double parallel = n * threads / watch.Elapsed.TotalSeconds;

        watch.Restart();
        for (int i = 0; i < n; i++)
        {
            using ImageItem item = flowers.GetItem(50_000 + i);
        }

        double items = n / watch.Elapsed.TotalSeconds;
        output.WriteLine($"ProceduralFlowers {size}x{size}: {single:F0} images/s on 1 thread (render only), {items:F0} images/s via GetItem (tensor), {parallel:F0} images/s on {threads} threads");
    }

    [SkippableTheory]
    [InlineData(32, 2)]
    [InlineData(32, 4)]
    [InlineData(64, 4)]
    public void LoaderImagesPerSecond(int size, int workers)
    {
        Skip.IfNot(Enabled, "Set DIFFUSION_DATA_BENCH=1 to measure throughput.");
        var flowers = new ProceduralFlowers(count: size == 32 ? 8192 : 2048, imageSize: size, seed: 1);
        using var loader = new DataLoader(flowers, new DataLoaderOptions { BatchSize = 32, Workers = workers, Prefetch = 2 * workers });
        DataLoaderTests.Collect(loader.Epoch(0).Take(4));
        var watch = Stopwatch.StartNew();
        int images = 0;
        foreach (ImageBatch batch in loader.Epoch(1))
        {
            images += batch.Count;
            batch.Dispose();
        }

        double perSecond = images / watch.Elapsed.TotalSeconds;
        output.WriteLine($"DataLoader over ProceduralFlowers {size}x{size}, batch 32, {workers} workers: {perSecond:F0} images/s ({Environment.ProcessorCount} cores); consumer waited {loader.TotalWaitTime.TotalSeconds:F2} s");
    }

    [SkippableFact]
    public void JpegFolderImagesPerSecond()
    {
        Skip.IfNot(Enabled, "Set DIFFUSION_DATA_BENCH=1 to measure throughput.");
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        for (int i = 0; i < 64; i++)
        {
            // Oxford 102 Flowers' typical size: about 500×667 JPEG.
            TestImages.Write(Path.Combine(temp.Path, $"{i:D3}.jpg"), 500, 667, SkiaSharp.SKEncodedImageFormat.Jpeg, tint: i);
        }

        var folder = ImageFolderDataset.Open(temp.Path, 64);
        using var loader = new DataLoader(folder, new DataLoaderOptions { BatchSize = 16, Workers = Environment.ProcessorCount, Prefetch = 8 });
        DataLoaderTests.Collect(loader.Epoch(0));
        var watch = Stopwatch.StartNew();
        int images = 0;
        for (int epoch = 1; epoch <= 4; epoch++)
        {
            foreach (ImageBatch batch in loader.Epoch(epoch))
            {
                images += batch.Count;
                batch.Dispose();
            }
        }

        output.WriteLine($"ImageFolderDataset 500x667 JPEG -> 64x64 through the loader: {images / watch.Elapsed.TotalSeconds:F0} images/s on {Environment.ProcessorCount} workers");
    }
}
