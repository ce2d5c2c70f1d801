using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Diffusion.Tests;

/// <summary>What the tests of diffusers-layout model folders share: copies to change, config edits, and the
/// relative comparison against a reference output.</summary>
internal static class ModelFolders
{
    /// <summary>A temporary copy of <paramref name="folder"/>'s <c>config.json</c> and (unless <paramref name="weights"/> is
    /// false) its weights file; the caller disposes it.</summary>
    public static TempDirectory CopyOf(string folder, string weightsFileName, bool weights = true)
    {
        var temp = TestEnvironment.CreateTempDirectory();
        File.Copy(Path.Combine(folder, "config.json"), Path.Combine(temp.Path, "config.json"));
        if (weights)
        {
            File.Copy(Path.Combine(folder, weightsFileName), Path.Combine(temp.Path, weightsFileName));
        }

        return temp;
    }

    /// <summary>Edits <paramref name="folder"/>'s <c>config.json</c> in place.</summary>
    public static void RewriteConfig(string folder, Action<JsonObject> edit)
    {
        string path = Path.Combine(folder, "config.json");
        JsonObject config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    /// <summary>Asserts max |actual − expected| ≤ <paramref name="relativeTolerance"/> × max |expected| (same shape).</summary>
    public static void AssertClose(Tensor expected, Tensor actual, string what, double relativeTolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        double scale = expected.abs().max().item<float>();
        double error = (actual.to(ScalarType.Float32) - expected).abs().max().item<float>();
        Assert.True(error <= relativeTolerance * scale, $"{what}: max |ours - reference| = {error:E2} > {relativeTolerance:E0} × {scale:F3}");
    }
}
