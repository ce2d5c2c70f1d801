using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Diffusion.Data;

/// <summary>
/// Builds one batch of a <see cref="DataLoader"/> epoch: reads the items, applies the transforms with
/// each item's own random stream, and copies them into batch tensors that belong to no dispose scope.
/// Called from any thread; everything it shares (the unreadable-item cache) is concurrent.
/// </summary>
internal sealed class BatchBuilder
{
    /// <summary>Stream tag of the augmentation randomness: (tag, seed, epoch, index).</summary>
    public const long AugmentTag = 0x61756731; // "aug1"

    private readonly IImageDataset dataset;
    private readonly DataLoaderOptions options;
    private readonly ILogger logger;
    private readonly ConcurrentDictionary<int, string> unreadable = new();

    public BatchBuilder(IImageDataset dataset, DataLoaderOptions options, ILogger logger)
    {
        this.dataset = dataset;
        this.options = options;
        this.logger = logger;
    }

    /// <summary>Builds batch <paramref name="batch"/> of <paramref name="epoch"/> from <paramref name="order"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled between items.</exception>
    public ImageBatch Build(int epoch, int batch, int[] order, CancellationToken cancellationToken)
    {
        int start = batch * options.BatchSize;
        int count = Math.Min(options.BatchSize, order.Length - start);
        int size = dataset.ImageSize;
        var indices = new int[count];
        var captions = new string?[count];
        var labels = new long[count];
        bool allLabelled = true;

        // Made outside any item scope, and detached in case the caller's thread has a scope of its own
        // (Workers = 0): the batch, and then its consumer, owns these tensors.
        Tensor images = torch.empty([count, 3, size, size], ScalarType.Float32).DetachFromDisposeScope();
        try
        {
            for (int j = 0; j < count; j++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using DisposeScope scope = torch.NewDisposeScope();
                using ImageItem item = Read(order[start + j], epoch, out int used);
                Tensor x = item.Image;
                var random = DeterministicRandom.FromKeys(AugmentTag, options.Seed, epoch, used);
                foreach (IImageTransform transform in options.Transforms)
                {
                    x = transform.Apply(x, random);
                    CheckImage(x, size, transform);
                }

                CheckImage(x, size, null);
                images[j].copy_(x);
                indices[j] = used;
                captions[j] = item.Caption;
                labels[j] = item.Label ?? -1;
                allLabelled &= item.Label.HasValue;
            }

            Tensor? labelTensor = allLabelled ? torch.tensor(labels, [count], ScalarType.Int64).DetachFromDisposeScope() : null;
            return new ImageBatch(epoch, batch, images, labelTensor, captions, indices);
        }
        catch
        {
            images.Dispose();
            throw;
        }
    }

    /// <summary>Reads item <paramref name="index"/>, or under SkipAndLog the next readable one.</summary>
    private ImageItem Read(int index, int epoch, out int used)
    {
        int candidate = index;
        List<(int Index, string Reason)>? skipped = null;
        for (int attempt = 0; attempt < dataset.Count; attempt++)
        {
            if (!unreadable.ContainsKey(candidate))
            {
                try
                {
                    ImageItem item = dataset.GetItem(candidate);
                    used = candidate;
                    foreach ((int bad, string reason) in skipped ?? [])
                    {
                        Log.ItemSkipped(logger, bad, epoch, reason, candidate);
                    }

                    return item;
                }
                catch (Exception e) when (options.OnError == DataErrorHandling.SkipAndLog && IsItemError(e))
                {
                    // Logged once per loader: the first reader to record it reports it.
                    if (unreadable.TryAdd(candidate, e.Message))
                    {
                        (skipped ??= []).Add((candidate, e.Message));
                    }
                }
            }

            candidate = (candidate + 1) % dataset.Count;
        }

        throw new InvalidDataException($"None of the {dataset.Count} items of the dataset can be read; item {index}: {unreadable.GetValueOrDefault(index)}");
    }

    private static bool IsItemError(Exception e) => e is InvalidDataException or IOException or UnauthorizedAccessException;

    private static void CheckImage(Tensor x, int size, IImageTransform? transform)
    {
        if (x.dtype != ScalarType.Float32 || x.ndim != 3 || x.shape[0] != 3 || x.shape[1] != size || x.shape[2] != size)
        {
            string who = transform is null ? "The dataset" : $"Transform {transform}";
            throw new InvalidOperationException($"{who} must give float32 [3,{size},{size}] images; got {x.dtype} [{string.Join(",", x.shape)}].");
        }
    }
}
