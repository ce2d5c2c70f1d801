using Diffusion.Clip;
using Diffusion.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.TextToImage;

/// <summary>
/// Procedural flowers drawn once into memory (8-bit), served to the diffusion trainer (<see cref="IImageDataset"/>,
/// with captions and species labels) and to the CLIP trainer (<see cref="IClipDataset"/>), so no training step
/// waits for Skia.
/// </summary>
internal sealed class FlowerImages : IImageDataset, IClipDataset, IDisposable
{
    private readonly Tensor pixels; // [N, 3, S, S] uint8
    private readonly FlowerDescription[] descriptions;

    public FlowerImages(ProceduralFlowers flowers)
    {
        int n = flowers.Count;
        ImageSize = flowers.ImageSize;
        LabelNames = flowers.LabelNames;
        descriptions = new FlowerDescription[n];
        pixels = zeros([n, 3, ImageSize, ImageSize], dtype: ScalarType.Byte);
        for (int i = 0; i < n; i++)
        {
            using var scope = NewDisposeScope();
            using ImageItem item = flowers.GetItem(i);
            pixels[i] = item.Image.mul(255).round_().to(ScalarType.Byte);
            descriptions[i] = flowers.Describe(i);
        }
    }

    public int Count => descriptions.Length;

    public int ImageSize { get; }

    public IReadOnlyList<string> LabelNames { get; }

    /// <summary>Each item's species and colour.</summary>
    public IReadOnlyList<FlowerDescription> Descriptions => descriptions;

    public ImageItem GetItem(int index)
    {
        FlowerDescription d = descriptions[index];
        return new ImageItem(Image(index), d.Caption, d.Label);
    }

    public (Tensor Image, string Caption) Get(int index) => (Image(index), descriptions[index].Caption);

    /// <summary>Images [count, 3, S, S] in [0, 1] from <paramref name="start"/>; the caller disposes them.</summary>
    public Tensor Images(int start, int count) => pixels.narrow(0, start, count).to(float32).div_(255f);

    public void Dispose() => pixels.Dispose();

    private Tensor Image(int index)
    {
        using var scope = NewDisposeScope();
        return pixels[index].to(float32).div_(255f).MoveToOuterDisposeScope();
    }
}
