namespace Diffusion.Data;

/// <summary>
/// One batch from a <see cref="DataLoader"/>. The batch owns its tensors: dispose the batch when done
/// (or take a tensor out of it by calling <c>DetachFromDisposeScope</c>/<c>clone</c> first).
/// </summary>
/// <remarks>
/// The tensors are made on a loader thread outside any dispose scope, so no scope of yours will
/// dispose them; they are CPU tensors (move them with <c>.to(device)</c> in your own scope).
/// </remarks>
public sealed class ImageBatch : IDisposable
{
    internal ImageBatch(int epoch, int index, Tensor images, Tensor? labels, string?[] captions, int[] indices)
    {
        Epoch = epoch;
        Index = index;
        Images = images;
        Labels = labels;
        Captions = captions;
        Indices = indices;
    }

    /// <summary>The epoch this batch belongs to.</summary>
    public int Epoch { get; }

    /// <summary>The batch's position in its epoch (0-based; what <c>skipBatches</c> counts).</summary>
    public int Index { get; }

    /// <summary>Number of items.</summary>
    public int Count => Indices.Count;

    /// <summary>float32 [B, 3, S, S] in [0, 1], on the CPU; owned by the batch.</summary>
    public Tensor Images { get; }

    /// <summary>int64 [B] class indices, or <see langword="null"/> when some item has no label; owned by the batch.</summary>
    public Tensor? Labels { get; }

    /// <summary>Each item's caption, or null where it has none.</summary>
    public IReadOnlyList<string?> Captions { get; }

    /// <summary>
    /// The dataset index of each item. Under <see cref="DataErrorHandling.SkipAndLog"/> an unreadable
    /// item's slot shows the index of the item that replaced it.
    /// </summary>
    public IReadOnlyList<int> Indices { get; }

    /// <summary>Disposes <see cref="Images"/> and <see cref="Labels"/>.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels?.Dispose();
    }
}
