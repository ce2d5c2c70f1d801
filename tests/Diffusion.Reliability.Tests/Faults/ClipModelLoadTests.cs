using System.Text.Json.Nodes;
using Diffusion.Clip;
using Diffusion.Tests.Support;

namespace Diffusion.Tests.Faults;

/// <summary>
/// A CLIP folder whose <c>config.json</c> asks for a bigger model than <c>model.safetensors</c> holds is refused,
/// naming the file and the size, before the model is built: a damaged number there must not allocate gigabytes.
/// </summary>
public sealed class ClipModelLoadTests
{
    [Theory]
    [InlineData("text_config", "intermediate_size", 1_000_000, "text_model.encoder.layers.1.mlp.fc1.weight: config.json says [1000000,32]")]
    [InlineData("vision_config", "num_hidden_layers", 100_000, "vision_model.encoder.layers.99999.mlp.fc1.weight: config.json says [64,32], the file has no such tensor")]
    [InlineData("text_config", "vocab_size", 50_000_000, "text_model.embeddings.token_embedding.weight: config.json says [50000000,32]")]
    [InlineData("vision_config", "image_size", 8192, "vision_model.embeddings.position_embedding.weight: config.json says [1048577,32], the file has [17,32]")]
    [InlineData("text_config", "hidden_size", 65536, "text_projection.weight: config.json says [16,65536], the file has [16,32]")]
    public void AConfigLargerThanTheWeightsIsRefusedBeforeTheModelIsBuilt(string side, string key, int value, string expected)
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        using (ClipModel clip = Tiny.Clip())
        {
            clip.Save(temp.Path);
        }

        string config = Path.Combine(temp.Path, ClipModel.ConfigFileName);
        JsonNode root = JsonNode.Parse(File.ReadAllText(config))!;
        root[side]![key] = value;
        File.WriteAllText(config, root.ToJsonString());

        var e = Assert.Throws<InvalidDataException>(() => ClipModel.Load(temp.Path));
        Assert.StartsWith(Path.Combine(temp.Path, ClipModel.WeightsFileName) + ":", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
