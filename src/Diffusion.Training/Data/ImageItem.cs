namespace Diffusion.Data;

/// <summary>One dataset item. The caller owns <see cref="Image"/> and disposes it (or the item).</summary>
/// <param name="Image">float32 pixels in [0, 1], shape [3, H, W].</param>
/// <param name="Caption">A caption such as "a red tulip", or null.</param>
/// <param name="Label">A class index into <see cref="IImageDataset.LabelNames"/>, or null.</param>
public sealed record ImageItem(Tensor Image, string? Caption = null, int? Label = null) : IDisposable
{
    /// <summary>Disposes the image tensor.</summary>
    public void Dispose() => Image.Dispose();
}
