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
}
