using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Clip;

/// <summary>
/// Picks and loads the pairs of each training step. The order is a seeded permutation per epoch, so a
/// step's batch depends only on (seed, step): resuming at step k sees the batches an uninterrupted run would.
/// </summary>
internal sealed class ClipBatchSampler(IClipDataset dataset, int batchSize, int seed, bool flip)
{
    private int cachedEpoch = -1;
    private int[] permutation = [];

    /// <summary>Preprocessed pixels <c>[B, 3, S, S]</c> (CPU, in the current dispose scope) and captions of one step.</summary>
    public (Tensor Pixels, string[] Captions) Load(int step, ClipImageProcessor processor)
    {
        var images = new Tensor[batchSize];
        var captions = new string[batchSize];
        var flips = new Random(unchecked((seed * 7919) + step));
        for (int k = 0; k < batchSize; k++)
        {
            long position = ((long)step * batchSize) + k;
            int index = IndexAt(position);
            (Tensor image, string caption) = dataset.Get(index);
            using (image)
            {
                if (image is null || caption is null)
                {
                    throw new ArgumentException($"dataset item {index} has no image or no caption.", nameof(dataset));
                }

                if (image.dim() != 3 || image.shape[0] != 3)
                {
                    throw new ArgumentException($"dataset item {index} must be an image [3,H,W]; got [{string.Join(',', image.shape)}].", nameof(dataset));
                }

                Tensor pixels = processor.Preprocess(image); // [3, S, S]
                images[k] = flip && flips.Next(2) == 1 ? pixels.flip(2) : pixels;
                captions[k] = caption;
            }
        }

        return (stack(images), captions);
    }

    private int IndexAt(long position)
    {
        int epoch = (int)(position / dataset.Count);
        if (epoch != cachedEpoch)
        {
            permutation = [.. Enumerable.Range(0, dataset.Count)];
            new Random(unchecked((seed * 1_000_003) + epoch)).Shuffle(permutation);
            cachedEpoch = epoch;
        }

        return permutation[(int)(position % dataset.Count)];
    }
}
