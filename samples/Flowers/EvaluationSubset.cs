using Diffusion.Data;

namespace Diffusion.Samples.Flowers;

/// <summary>The first items of a dataset, for an evaluation loss when the data has no held-out part of its own.</summary>
internal sealed class EvaluationSubset(IImageDataset inner, int count) : IImageDataset
{
    public int Count { get; } = Math.Min(count, inner.Count);

    public int ImageSize => inner.ImageSize;

    public IReadOnlyList<string> LabelNames => inner.LabelNames;

    public ImageItem GetItem(int index) => inner.GetItem(index);
}
