namespace Diffusion.Data;

/// <summary>A finite, indexable set of training images, each with an optional caption and label.</summary>
/// <remarks>
/// Implementations are safe to read from several threads at once: the loader's workers call
/// <see cref="GetItem"/> concurrently. Reading the same index twice gives the same item.
/// </remarks>
public interface IImageDataset
{
    /// <summary>Number of items.</summary>
    int Count { get; }

    /// <summary>Side length of the square images this dataset returns, in pixels.</summary>
    int ImageSize { get; }

    /// <summary>Names of the labels, indexed by <see cref="ImageItem.Label"/>; empty when items carry no label.</summary>
    IReadOnlyList<string> LabelNames { get; }

    /// <summary>Reads one item.</summary>
    /// <param name="index">0 to <see cref="Count"/> − 1.</param>
    /// <returns>The item; its image tensor is owned by the caller.</returns>
    ImageItem GetItem(int index);
}
