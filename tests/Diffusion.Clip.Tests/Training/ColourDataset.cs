using Diffusion.Clip;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Training;

/// <summary>Plain-coloured squares with a little noise, captioned "a red square" etc.: learnable in seconds.</summary>
internal sealed class ColourDataset(int count, int size = 16, int seed = 0) : IClipDataset
{
    public static readonly (string Name, float R, float G, float B)[] Colours =
        [("red", 0.9f, 0.1f, 0.1f), ("green", 0.1f, 0.8f, 0.2f), ("blue", 0.1f, 0.2f, 0.9f), ("yellow", 0.9f, 0.9f, 0.1f)];

    public int Count => count;

    public static string Caption(string colour) => $"a {colour} square";

    public (Tensor Image, string Caption) Get(int index)
    {
        (string name, float r, float g, float b) = Colours[index % Colours.Length];
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)(seed * 100_000 + index));
        Tensor colour = tensor(new[] { r, g, b }).view(3, 1, 1);
        Tensor image = (colour + (0.1f * randn([3, size, size], generator: generator))).clamp(0, 1);
        return (image.MoveToOuterDisposeScope(), Caption(name));
    }
}
