using Diffusion.Data;
using TorchSharp;

namespace Diffusion.Tests.Data;

/// <summary>
/// A tiny dataset for loader tests: item i's pixels are a known function of (i, c, y, x), not symmetric
/// left–right (so flips show); it counts reads, can be slow, and can fail on chosen items.
/// </summary>
internal sealed class FakeDataset : IImageDataset
{
    private readonly int[] reads;

    public FakeDataset(int count, int imageSize = 4, bool labelled = true)
    {
        Count = count;
        ImageSize = imageSize;
        Labelled = labelled;
        reads = new int[count];
        LabelNames = labelled ? ["l0", "l1", "l2", "l3", "l4"] : [];
    }

    public int Count { get; }

    public int ImageSize { get; }

    public bool Labelled { get; }

    public IReadOnlyList<string> LabelNames { get; }

    /// <summary>Items for which GetItem throws an InvalidDataException naming a made-up path.</summary>
    public HashSet<int> Unreadable { get; init; } = [];

    /// <summary>Milliseconds each read sleeps.</summary>
    public int DelayMilliseconds { get; init; }

    public int TotalReads => reads.Sum();

    public int Reads(int index) => Volatile.Read(ref reads[index]);

    public static float[] PixelsOf(int index, int size)
    {
        var values = new float[3 * size * size];
        for (int c = 0; c < 3; c++)
        {
            for (int y = 0; y < size; y++)
            {
                for (int x = 0; x < size; x++)
                {
                    values[(((c * size) + y) * size) + x] = ((index * 13) + (c * 5) + (y * 3) + x) % 17 / 16f;
                }
            }
        }

        return values;
    }

    public ImageItem GetItem(int index)
    {
        Interlocked.Increment(ref reads[index]);
        if (DelayMilliseconds > 0)
        {
            Thread.Sleep(DelayMilliseconds);
        }

        if (Unreadable.Contains(index))
        {
            throw new InvalidDataException($"Image '/data/{index}.png' is truncated (Skia: IncompleteInput).");
        }

        return new ImageItem(torch.tensor(PixelsOf(index, ImageSize), [3, ImageSize, ImageSize]), $"item {index}", Labelled ? index % 5 : null);
    }
}
