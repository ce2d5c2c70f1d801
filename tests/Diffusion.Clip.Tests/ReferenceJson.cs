using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests;

/// <summary>Reads the {"shape", "data"} tensors of the committed reference JSON files.</summary>
internal static class ReferenceJson
{
    public static JsonElement Read(params string[] relativePath)
    {
        string path = Path.Combine([TestEnvironment.ReferenceDir, .. relativePath]);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.Clone();
    }

    public static Tensor Tensor(JsonElement element)
    {
        long[] shape = [.. element.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64())];
        float[] data = [.. element.GetProperty("data").EnumerateArray().Select(e => e.GetSingle())];
        return tensor(data, shape);
    }

    /// <summary>Largest |actual − expected| and the worst excess over atol + rtol·|expected| (≤ 0 means within tolerance).</summary>
    public static (double MaxAbs, double Excess) Compare(Tensor actual, Tensor expected, double atol, double rtol)
    {
        using var scope = NewDisposeScope();
        Tensor diff = (actual.to(float64) - expected.to(float64)).abs();
        double maxAbs = diff.max().item<double>();
        double excess = (diff - (atol + (rtol * expected.to(float64).abs()))).max().item<double>();
        return (maxAbs, excess);
    }
}
