using System.Text.Json;
using Diffusion.Clip;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models;

/// <summary>
/// Weights exported from OpenAI's own CLIP code (tools/reference/clip_parity.py: openai/CLIP
/// clip/model.py, seeded tiny configuration, keys mapped to Hugging Face names) load through
/// <see cref="ClipModel.Load"/> and give the same embeddings.
/// </summary>
public sealed class ClipModelParityTests(ITestOutputHelper output)
{
    // float32 throughout; the two sides order their sums differently (fused attention here,
    // nn.MultiheadAttention there). Per op the rounding is ~1e-7 relative; two layers of widths up to
    // 192 and a projection leave errors of order 1e-6 on outputs of order 1, so 1e-5 absolute plus
    // 1e-5 relative leaves a 10x margin while still catching any wrong weight or op.
    private const double Atol = 1e-5;
    private const double Rtol = 1e-5;

    [Fact]
    public void LoadsOpenAiWeightsAndReproducesTheirEmbeddings()
    {
        string folder = Path.Combine(TestEnvironment.ReferenceDir, "clip", "parity");
        JsonElement reference = ReferenceJson.Read("clip", "parity", "parity.json");
        using var model = ClipModel.Load(folder);
        Assert.Null(model.Tokenizer); // the folder has no vocab.json / merges.txt

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor pixels = ReferenceJson.Tensor(reference.GetProperty("pixel_values"));
        long[][] rows = [.. reference.GetProperty("input_ids").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetInt64()).ToArray())];
        Tensor ids = tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);

        Check("image features", model.GetImageFeatures(pixels), ReferenceJson.Tensor(reference.GetProperty("image_features")));
        Check("text features", model.GetTextFeatures(ids), ReferenceJson.Tensor(reference.GetProperty("text_features")));
        Check("logits per image", model.forward(pixels, ids), ReferenceJson.Tensor(reference.GetProperty("logits_per_image")));
    }

    [Fact]
    public void SavedFolderReloadsBitForBit()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var model = ClipModel.Load(Path.Combine(TestEnvironment.ReferenceDir, "clip", "parity"));
        model.Save(dir.Path);
        using var reloaded = ClipModel.Load(dir.Path);
        Assert.Equal(model.Config, reloaded.Config with { });
        Dictionary<string, Tensor> expected = model.state_dict(), actual = reloaded.state_dict();
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach ((string key, Tensor value) in expected)
        {
            Assert.True(value.eq(actual[key]).all().item<bool>(), $"{key} differs after Save/Load");
        }
    }

    [Fact]
    public void LoadsHalfPrecisionWeightsAndRejectsWeightsThatDoNotFit()
    {
        string folder = Path.Combine(TestEnvironment.ReferenceDir, "clip", "parity");
        using var dir = TestEnvironment.CreateTempDirectory();
        File.Copy(Path.Combine(folder, "config.json"), Path.Combine(dir.Path, "config.json"));
        string weights = Path.Combine(dir.Path, "model.safetensors");
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> original = Diffusion.IO.SafeTensors.Load(Path.Combine(folder, "model.safetensors"));

        // fp16 checkpoints load into the float32 model.
        Diffusion.IO.SafeTensors.Save(original.ToDictionary(kv => kv.Key, kv => kv.Value.is_floating_point() ? kv.Value.to(float16) : kv.Value), weights);
        using (var half = ClipModel.Load(dir.Path))
        using (var full = ClipModel.Load(folder))
        {
            Assert.Equal(ScalarType.Float32, half.state_dict()["logit_scale"].dtype);
            Tensor pixels = randn(1, 3, 32, 32);
            using var noGrad = no_grad();
            Assert.True(half.GetImageFeatures(pixels).allclose(full.GetImageFeatures(pixels), rtol: 1e-2, atol: 1e-2));
        }

        // A missing tensor is an error naming the file.
        Diffusion.IO.SafeTensors.Save(original.Where(kv => kv.Key != "text_projection.weight").ToDictionary(), weights);
        var e = Assert.Throws<InvalidDataException>(() => ClipModel.Load(dir.Path));
        Assert.StartsWith(weights, e.Message, StringComparison.Ordinal);
        Assert.Contains("text_projection.weight", e.Message, StringComparison.Ordinal);

        // So is an unknown one (only the legacy position_ids buffers are tolerated).
        var extra = new Dictionary<string, Tensor>(original) { ["vision_model.extra"] = zeros(2) };
        Diffusion.IO.SafeTensors.Save(extra, weights);
        e = Assert.Throws<InvalidDataException>(() => ClipModel.Load(dir.Path));
        Assert.Contains("vision_model.extra", e.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => ClipModel.Load(Path.Combine(TestEnvironment.ReferenceDir, "clip")));
    }

    private void Check(string what, Tensor actual, Tensor expected)
    {
        Assert.Equal(expected.shape, actual.shape);
        (double maxAbs, double excess) = ReferenceJson.Compare(actual, expected, Atol, Rtol);
        output.WriteLine($"{what}: max |error| = {maxAbs:E2}");
        Assert.True(excess <= 0, $"{what}: max |error| {maxAbs:E3} exceeds atol {Atol} + rtol {Rtol}·|expected|");
    }
}
