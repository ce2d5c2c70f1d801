using Diffusion.Data;

namespace Diffusion.Clip;

/// <summary>
/// The data order of <see cref="ClipTrainer"/>: each epoch is a permutation drawn from (seed, epoch) and cut into
/// whole batches, and each image's flip is drawn from (seed, epoch, position), all with <see cref="DeterministicRandom"/>
/// (fixed forever, unlike <see cref="Random"/>), so a batch depends only on (seed, epoch, index) and a resumed run
/// sees exactly the batches an uninterrupted one would.
/// </summary>
internal sealed class ClipBatchSampler(IClipDataset dataset, ClipImageProcessor processor, int batchSize, long seed, bool flip)
{
    private const long ShuffleTag = 0x636C6970; // "clip"
    private const long FlipTag = 0x666C6970;    // "flip"

    /// <summary>Pairs in the dataset.</summary>
    public int DatasetCount => dataset.Count;

    /// <summary>Whole batches per epoch (the last partial one is dropped).</summary>
    public int BatchesPerEpoch => dataset.Count / batchSize;

    /// <summary>The batches of <paramref name="epoch"/> from <paramref name="firstBatch"/> on.</summary>
    public IEnumerable<ClipBatch> Epoch(int epoch, int firstBatch, CancellationToken cancellationToken)
    {
        int[] order = [.. Enumerable.Range(0, dataset.Count)];
        DeterministicRandom.FromKeys(ShuffleTag, seed, epoch).Shuffle(order.AsSpan());
        for (int b = firstBatch; b < BatchesPerEpoch; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return Load(epoch, b, order);
        }
    }

    /// <summary>Preprocessed pixels <c>[B, 3, S, S]</c> (CPU, owned by the returned batch) and captions of one batch.</summary>
    private ClipBatch Load(int epoch, int batchIndex, int[] order)
    {
        using var scope = NewDisposeScope();
        var images = new Tensor[batchSize];
        var captions = new string[batchSize];
        for (int k = 0; k < batchSize; k++)
        {
            int position = (batchIndex * batchSize) + k;
            int index = order[position];
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
                bool flipped = flip && DeterministicRandom.FromKeys(FlipTag, seed, epoch, position).NextBool();
                images[k] = flipped ? pixels.flip(2) : pixels;
                captions[k] = caption;
            }
        }

        return new ClipBatch(stack(images).DetachFromDisposeScope(), captions);
    }
}

/// <summary>One batch of <see cref="ClipBatchSampler"/>: pixels <c>[B, 3, S, S]</c> (disposed with the batch) and captions.</summary>
internal sealed class ClipBatch(Tensor pixels, string[] captions) : IDisposable
{
    public Tensor Pixels { get; } = pixels;

    public string[] Captions { get; } = captions;

    public void Dispose() => Pixels.Dispose();
}
