using Diffusion.Clip;
using Diffusion.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.ClipZeroShot;

/// <summary>
/// ProceduralFlowers seen through Diffusion.Clip's <see cref="IClipDataset"/>: every flower is drawn
/// once up front (8-bit, in memory) so training steps do not wait for Skia, and read back as
/// [3, S, S] floats with its caption ("a red tulip").
/// </summary>
internal sealed class FlowerPairs : IClipDataset, IDisposable
{
    private readonly Tensor pixels; // [N, 3, S, S] uint8
    private readonly string[] captions;

    public FlowerPairs(ProceduralFlowers flowers)
    {
        int n = flowers.Count;
        captions = new string[n];
        ClassIndices = new int[n];
        pixels = zeros([n, 3, flowers.ImageSize, flowers.ImageSize], dtype: ScalarType.Byte);
        for (int i = 0; i < n; i++)
        {
            using var scope = NewDisposeScope();
            ImageItem item = flowers.GetItem(i);
            pixels[i] = item.Image.mul(255).round_().to(ScalarType.Byte);
            FlowerDescription d = flowers.Describe(i);
            captions[i] = d.Caption;
            ClassIndices[i] = d.ClassIndex;
        }
    }

    public int Count => captions.Length;

    /// <summary>Index of each item's (species, colour) pair in <see cref="ProceduralFlowers.ClassNames"/>.</summary>
    public int[] ClassIndices { get; }

    public (Tensor Image, string Caption) Get(int index) => (pixels[index].to(float32).div_(255f), captions[index]);

    /// <summary>Images [count, 3, S, S] in [0, 1] from <paramref name="start"/>. The caller disposes them.</summary>
    public Tensor Images(int start, int count) => pixels.narrow(0, start, count).to(float32).div_(255f);

    public void Dispose() => pixels.Dispose();
}
