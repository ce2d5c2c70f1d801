using BenchmarkDotNet.Attributes;
using Diffusion.Benchmarks.Reporting;
using Diffusion.Data;
using SkiaSharp;

namespace Diffusion.Benchmarks;

/// <summary>
/// Real-data throughput: 64 JPEG files of Oxford 102 Flowers' typical size (500×667) decoded, resized to 64×64 and
/// batched by the <see cref="DataLoader"/> with one worker per core (moved here from a skipped test).
/// </summary>
[MemoryDiagnoser]
public class ImageFolderBenchmarks
{
    private const int Files = 64;
    private string folder = "";
    private DataLoader loader = null!;
    private int epoch;

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkEnvironment.ResetPeakRss();
        folder = Directory.CreateTempSubdirectory("diffusion-jpeg-bench-").FullName;
        using var bitmap = new SKBitmap(500, 667);
        for (int i = 0; i < Files; i++)
        {
            // A smooth pattern that changes per file, so the JPEG decoder does real work.
            for (int y = 0; y < bitmap.Height; y++)
            {
                for (int x = 0; x < bitmap.Width; x++)
                {
                    bitmap.SetPixel(x, y, new SKColor((byte)(x + (i * 7)), (byte)(y + (i * 3)), (byte)((x ^ y) + i)));
                }
            }

            using SKData jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
            File.WriteAllBytes(Path.Combine(folder, $"{i:D3}.jpg"), jpeg.ToArray());
        }

        loader = new DataLoader(ImageFolderDataset.Open(folder, 64),
            new DataLoaderOptions { BatchSize = 16, Workers = Environment.ProcessorCount, Prefetch = 8 });
        CaseRecords.SetImages(this, nameof(JpegEpoch), Files);
    }

    /// <summary>One epoch over the 64 files.</summary>
    [Benchmark]
    public int JpegEpoch()
    {
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
        CaseRecords.RecordMemory(this, nameof(JpegEpoch));
        loader.Dispose();
        Directory.Delete(folder, recursive: true);
    }
}
