using System.Text.Json;
using Diffusion.Clip;

namespace Diffusion.Tests.Configuration;

public sealed class ClipConfigTests
{
    // The shape of openai/clip-vit-base-patch32's config.json (transformers 4.16 serialisation, with
    // its many generic keys, trimmed here to a few of them) — values as published on the Hub.
    private const string OpenAiBasePatch32 = """
        {
          "_name_or_path": "openai/clip-vit-base-patch32",
          "architectures": ["CLIPModel"],
          "initializer_factor": 1.0,
          "logit_scale_init_value": 2.6592,
          "model_type": "clip",
          "projection_dim": 512,
          "text_config": {
            "_name_or_path": "", "add_cross_attention": false, "attention_dropout": 0.0, "bos_token_id": 0,
            "dropout": 0.0, "eos_token_id": 2, "hidden_act": "quick_gelu", "hidden_size": 512,
            "id2label": {"0": "LABEL_0", "1": "LABEL_1"}, "initializer_factor": 1.0, "initializer_range": 0.02,
            "intermediate_size": 2048, "layer_norm_eps": 1e-05, "max_length": 20, "max_position_embeddings": 77,
            "model_type": "clip_text_model", "num_attention_heads": 8, "num_hidden_layers": 12, "pad_token_id": 1,
            "projection_dim" : 512, "torch_dtype": null, "transformers_version": "4.16.0.dev0", "vocab_size": 49408
          },
          "text_config_dict": null,
          "transformers_version": null,
          "vision_config": {
            "_name_or_path": "", "attention_dropout": 0.0, "dropout": 0.0, "hidden_act": "quick_gelu", "hidden_size": 768,
            "image_size": 224, "initializer_factor": 1.0, "initializer_range": 0.02, "intermediate_size": 3072,
            "layer_norm_eps": 1e-05, "model_type": "clip_vision_model", "num_attention_heads": 12,
            "num_hidden_layers": 12, "patch_size": 32, "projection_dim" : 512, "transformers_version": "4.16.0.dev0"
          },
          "vision_config_dict": null
        }
        """;

    [Fact]
    public void ReadsTheOpenAiBasePatch32Config()
    {
        Assert.Equal(ClipConfig.VitBasePatch32, ClipConfig.FromJson(OpenAiBasePatch32));
    }

    [Fact]
    public void ConfigDictValuesTakePrecedence()
    {
        string json = """{"text_config": {"hidden_size": 512}, "text_config_dict": {"hidden_size": 768, "num_attention_heads": 12, "hidden_act": "gelu"}, "vision_config_dict": {"patch_size": 16}}""";
        ClipConfig config = ClipConfig.FromJson(json);
        Assert.Equal(768, config.TextConfig.HiddenSize);
        Assert.Equal(12, config.TextConfig.NumAttentionHeads);
        Assert.Equal(ClipActivation.Gelu, config.TextConfig.HiddenAct);
        Assert.Equal(16, config.VisionConfig.PatchSize);
    }

    [Fact]
    public void ToJsonRoundTripsAndNamesTheModelType()
    {
        ClipConfig config = ClipConfig.Small(vocabSize: 600) with
        {
            TextConfig = ClipConfig.Small(600).TextConfig with { HiddenAct = ClipActivation.GeluTanh },
        };
        string json = config.ToJson();
        Assert.Equal(config, ClipConfig.FromJson(json));
        using JsonDocument doc = JsonDocument.Parse(json);
        Assert.Equal("clip", doc.RootElement.GetProperty("model_type").GetString());
        Assert.Equal("gelu_pytorch_tanh", doc.RootElement.GetProperty("text_config").GetProperty("hidden_act").GetString());
        Assert.Equal(4, doc.RootElement.GetProperty("vision_config").GetProperty("patch_size").GetInt32());
    }

    [Fact]
    public void ValidationListsEveryViolation()
    {
        string json = """{"projection_dim": 0, "text_config": {"hidden_size": 30, "num_attention_heads": 4}, "vision_config": {"image_size": 100, "patch_size": 32}}""";
        var e = Assert.Throws<ArgumentException>(() => ClipConfig.FromJson(json));
        Assert.Contains("text_config: HiddenSize (30) must be a multiple of NumAttentionHeads (4)", e.Message, StringComparison.Ordinal);
        Assert.Contains("vision_config: ImageSize (100) must be a multiple of PatchSize (32)", e.Message, StringComparison.Ordinal);
        Assert.Contains("config: ProjectionDim must be positive; got 0", e.Message, StringComparison.Ordinal);

        Assert.Throws<JsonException>(() => ClipConfig.FromJson("""{"text_config": {"hidden_act": "relu"}}"""));
    }

    [Fact]
    public void LoadNamesTheFileWhenItIsBroken()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string path = Path.Combine(dir.Path, "config.json");
        File.WriteAllText(path, "{\"vision_config\": {\"patch_size\": \"big\"}}");
        var e = Assert.Throws<InvalidDataException>(() => ClipConfig.Load(path));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
    }
}
