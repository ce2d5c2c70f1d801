using System.Text.Json;
using System.Text.Json.Nodes;
using Diffusion.IO;
using Diffusion.Models;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models.Pretrained;

/// <summary><see cref="UNet2DConditionModel.FromPretrained"/> and <see cref="UNet2DConditionModel.SavePretrained"/>:
/// config round trips, fp16 variants and dtypes, configs that do not fit the weights, unsupported features, bad inputs.</summary>
public sealed class UNet2DConditionModelLoadingTests
{
    private static readonly string Sd1 = Path.Combine(UNet2DConditionModelParityTests.Dir, "sd1");

    private static TempDirectory CopyOf(string folder) => ModelFolders.CopyOf(folder, UNet2DConditionModel.WeightsFileName);

    private static void RewriteConfig(string folder, Action<JsonObject> edit) => ModelFolders.RewriteConfig(folder, edit);

    private static Dictionary<string, Tensor> Io(string name = "sd1") => SafeTensors.Load(Path.Combine(UNet2DConditionModelParityTests.Dir, name, "io.safetensors"));

    private static Tensor Run(UNet2DConditionModel model, Dictionary<string, Tensor> io)
    {
        using var _ = no_grad();
        return model.Forward(io["sample"].to(model.DType), io["timesteps"], io["encoder_hidden_states"].to(model.DType), io["encoder_attention_mask"]);
    }

    [Theory]
    [InlineData("sd1")]
    [InlineData("sd2")]
    [InlineData("variants")]
    public void DiffusersConfigReadsAndWritesBackTheSameKeysAndValues(string name)
    {
        string text = File.ReadAllText(Path.Combine(UNet2DConditionModelParityTests.Dir, name, "config.json"));
        var unknown = new List<string>();
        UNet2DConditionModelConfig config = UNet2DConditionModelConfig.FromJson(text, unknown);
        Assert.Empty(unknown);
        Assert.Empty(config.GetViolations());
        JsonObject theirs = JsonNode.Parse(text)!.AsObject(), ours = JsonNode.Parse(config.ToJson())!.AsObject();
        Assert.Equal(theirs.Select(p => p.Key).Order(), ours.Select(p => p.Key).Order());
        foreach ((string key, JsonNode? value) in theirs.Where(p => p.Key != "_diffusers_version"))
        {
            Assert.True(SameJson(value, ours[key]), $"{key}: diffusers {value?.ToJsonString()}, ours {ours[key]?.ToJsonString()}");
        }
    }

    private static bool SameJson(JsonNode? a, JsonNode? b) => (a, b) switch
    {
        (null, null) => true,
        (JsonArray x, JsonArray y) => x.Count == y.Count && x.Zip(y).All(p => SameJson(p.First, p.Second)),
        (JsonValue x, JsonValue y) when x.GetValueKind() == JsonValueKind.Number && y.GetValueKind() == JsonValueKind.Number =>
            x.GetValue<double>() == y.GetValue<double>(),
        _ => a is not null && b is not null && JsonNode.DeepEquals(a, b),
    };

    [Fact]
    public void SavedFolderLoadsBackWithTheSameOutput()
    {
        using var scope = NewDisposeScope();
        using UNet2DConditionModel model = UNet2DConditionModel.FromPretrained(Path.Combine(UNet2DConditionModelParityTests.Dir, "sd2"));
        using var temp = TestEnvironment.CreateTempDirectory();
        model.SavePretrained(temp.Path);
        Assert.Equal(["config.json", UNet2DConditionModel.WeightsFileName], Directory.GetFiles(temp.Path).Select(Path.GetFileName).Order());
        Assert.Equal("UNet2DConditionModel", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(temp.Path, "config.json")))!["_class_name"]);

        using UNet2DConditionModel reloaded = UNet2DConditionModel.FromPretrained(temp.Path);
        Assert.Equal(model.Config, reloaded.Config);
        Dictionary<string, Tensor> io = Io("sd2");
        Assert.Equal(0f, (Run(model, io) - Run(reloaded, io)).abs().max().item<float>());

        using var any = PretrainedModel.FromPretrained(temp.Path); // opened by _class_name too
        Assert.IsType<UNet2DConditionModel>(any);
    }

    [Fact]
    public void FreshModelSavesAFolderOfDiffusersKeys()
    {
        // A model of ours (TorchSharp's initialisation, norms perturbed): tools/reference/unet2d_load_ours.py
        // loads such a folder into diffusers' own UNet2DConditionModel and compares outputs. Set
        // DIFFUSION_EXPORT_UNET2DCOND to a folder to keep this one (and io.safetensors with our inputs and output).
        using var scope = NewDisposeScope();
        manual_seed(11);
        UNet2DConditionModelConfig config = UNet2DConditionModelConfig.FromJson(File.ReadAllText(Path.Combine(UNet2DConditionModelParityTests.Dir, "sd2", "config.json")));
        using var model = new UNet2DConditionModel(config);
        NormPerturbation.Apply(model);

        model.eval();
        string? export = Environment.GetEnvironmentVariable("DIFFUSION_EXPORT_UNET2DCOND");
        using TempDirectory? temp = string.IsNullOrEmpty(export) ? TestEnvironment.CreateTempDirectory() : null;
        string folder = temp?.Path ?? export!;
        model.SavePretrained(folder);
        SafeTensorsHeader header = SafeTensors.ReadHeader(Path.Combine(folder, UNet2DConditionModel.WeightsFileName));
        SafeTensorsHeader theirs = SafeTensors.ReadHeader(Path.Combine(UNet2DConditionModelParityTests.Dir, "sd2", UNet2DConditionModel.WeightsFileName));
        Assert.Equal(theirs.Entries.Select(e => e.Name + string.Join(",", e.Shape)).Order(), header.Entries.Select(e => e.Name + string.Join(",", e.Shape)).Order());
        Assert.Equal(                                                       // diffusers' named_children() (tools/reference/module_order.py)
            ["conv_in", "time_proj", "time_embedding", "down_blocks", "up_blocks", "mid_block", "conv_norm_out", "conv_act", "conv_out"],
            model.named_children().Select(child => child.name));

        Tensor sample = randn(2, 4, 8, 8), text = randn(2, 5, 40), timesteps = tensor(new long[] { 5, 900 });
        Tensor mask = tensor(new long[,] { { 1, 1, 1, 0, 0 }, { 1, 1, 1, 1, 1 } });
        using (no_grad())
        {
            Tensor output = model.Forward(sample, timesteps, text, mask);
            SafeTensors.Save(new Dictionary<string, Tensor> { ["sample"] = sample, ["timesteps"] = timesteps, ["encoder_hidden_states"] = text, ["encoder_attention_mask"] = mask, ["output"] = output },
                Path.Combine(folder, "io.safetensors"));
        }

        Assert.Equal(config, UNet2DConditionModel.FromPretrained(folder).Config);
    }

    [Fact]
    public void Fp16VariantLoadsIntoFloat32Float16AndBFloat16()
    {
        // tests/reference/unet2dcond/sd1_fp16 holds only diffusion_pytorch_model.fp16.safetensors (diffusers' weights
        // .half()), as hub folders of the fp16 variant do.
        using var scope = NewDisposeScope();
        string folder = Path.Combine(UNet2DConditionModelParityTests.Dir, "sd1_fp16");
        Dictionary<string, Tensor> io = Io();
        using UNet2DConditionModel full = UNet2DConditionModel.FromPretrained(Sd1);
        Tensor expected = Run(full, io);

        using UNet2DConditionModel f32 = UNet2DConditionModel.FromPretrained(folder);
        Assert.Equal(ScalarType.Float32, f32.DType);
        using (no_grad())
        {
            // The same weights rounded to float16 and widened back: bit for bit what the variant file gives.
            foreach ((string name, Tensor p) in full.state_dict())
            {
                p.copy_(p.to(ScalarType.Float16).to(ScalarType.Float32));
            }
        }

        Assert.Equal(0f, (Run(full, io) - Run(f32, io)).abs().max().item<float>());
        // Weights rounded to float16 (relative 2^-11) move outputs of order 1 by some 1e-3.
        Assert.InRange((Run(f32, io) - expected).abs().max().item<float>(), 1e-6f, 2e-2f);

        foreach (ScalarType type in new[] { ScalarType.Float16, ScalarType.BFloat16 })
        {
            using UNet2DConditionModel half = UNet2DConditionModel.FromPretrained(folder, dtype: type);
            Assert.True(half.parameters().All(p => p.dtype == type), type.ToString());
            Tensor output = Run(half, io).to(ScalarType.Float32);
            // Half-precision activations through some 80 layers: float16 (11-bit mantissa) lands within 1e-2 of the
            // float32 outputs of scale 1.2, bfloat16 (8 bits) within some 5e-2; 0.15 catches a broken path, not rounding.
            Assert.InRange((output - expected).abs().max().item<float>(), 1e-5f, 0.15f);
        }
    }

    [Fact]
    public void UpcastAttentionInBFloat16StaysCloseToFloat32()
    {
        // sd2 has upcast_attention: in bfloat16 its attention runs in float32 (scores, softmax, weighted sum).
        using var scope = NewDisposeScope();
        string folder = Path.Combine(UNet2DConditionModelParityTests.Dir, "sd2");
        Dictionary<string, Tensor> io = Io("sd2");
        using UNet2DConditionModel bf16 = UNet2DConditionModel.FromPretrained(folder, dtype: ScalarType.BFloat16);
        Tensor output = Run(bf16, io).to(ScalarType.Float32);
        Assert.Equal(ScalarType.BFloat16, Run(bf16, io).dtype);
        // bfloat16 weights and activations (8-bit mantissa) through some 90 layers, outputs of scale 0.95.
        Assert.InRange((output - io["output_mask"]).abs().max().item<float>(), 1e-5f, 0.15f);
    }

    [Fact]
    public void ConfigThatDoesNotFitTheWeightsIsRefusedBeforeBuilding()
    {
        using var temp = CopyOf(Sd1);
        RewriteConfig(temp.Path, c => c["cross_attention_dim"] = 768);
        var e = Assert.Throws<InvalidDataException>(() => UNet2DConditionModel.FromPretrained(temp.Path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("attn2.to_k.weight", e.Message);
        Assert.Contains("768", e.Message);

        RewriteConfig(temp.Path, c =>
        {
            c["cross_attention_dim"] = 24;
            c["block_out_channels"] = new JsonArray(320, 640, 1280);
        });
        e = Assert.Throws<InvalidDataException>(() => UNet2DConditionModel.FromPretrained(temp.Path));
        Assert.Contains("conv_in.weight", e.Message);
    }

    [Theory]
    [InlineData("addition_embed_type", "\"text_time\"", "AdditionEmbedType (addition_embed_type) is not supported")]
    [InlineData("class_embed_type", "\"timestep\"", "ClassEmbedType (class_embed_type) is not supported")]
    [InlineData("num_class_embeds", "10", "NumClassEmbeds (num_class_embeds) is not supported")]
    [InlineData("num_attention_heads", "8", "NumAttentionHeads (num_attention_heads) is not supported")]
    [InlineData("encoder_hid_dim", "1024", "EncoderHidDim (encoder_hid_dim) is not supported")]
    [InlineData("time_cond_proj_dim", "256", "TimeCondProjDim (time_cond_proj_dim) is not supported")]
    [InlineData("attention_type", "\"gated\"", "AttentionType (attention_type) is not supported")]
    [InlineData("dual_cross_attention", "true", "DualCrossAttention (dual_cross_attention) is not supported")]
    [InlineData("time_embedding_type", "\"fourier\"", "TimeEmbeddingType (time_embedding_type) must be \"positional\"")]
    [InlineData("mid_block_type", "\"UNetMidBlock2DSimpleCrossAttn\"", "MidBlockType (mid_block_type) must be \"UNetMidBlock2DCrossAttn\" or null")]
    [InlineData("reverse_transformer_layers_per_block", "[[1, 1], [2, 2]]", "ReverseTransformerLayersPerBlock (reverse_transformer_layers_per_block) is not supported")]
    public void UnsupportedFeaturesAreRefusedByName(string key, string json, string expected)
    {
        using var temp = CopyOf(Sd1);
        RewriteConfig(temp.Path, c => c[key] = JsonNode.Parse(json));
        var e = Assert.Throws<InvalidDataException>(() => UNet2DConditionModel.FromPretrained(temp.Path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ValidationListsEveryViolation()
    {
        var config = new UNet2DConditionModelConfig
        {
            BlockOutChannels = [30, 64],
            DownBlockTypes = ["CrossAttnDownBlock2D", "AttnDownBlock2D"],
            UpBlockTypes = ["UpBlock2D"],
            LayersPerBlock = [1, 2, 3],
            CrossAttentionDim = [768, 1024],
            AttentionHeadDim = [64, 0],
            NormNumGroups = 32,
            AdditionEmbedType = "text_time",
        };
        var e = Assert.Throws<ArgumentException>(() => new UNet2DConditionModel(config));
        foreach (string expected in new[]
        {
            "BlockOutChannels[0] (block_out_channels) must be a multiple of NormNumGroups (norm_num_groups, 32); got 30",
            "DownBlockTypes[1] (down_block_types) must be one of \"CrossAttnDownBlock2D\", \"DownBlock2D\"",
            "UpBlockTypes (up_block_types) must have one entry per BlockOutChannels entry (2); got 1",
            "LayersPerBlock (layers_per_block) must have one entry, or one per BlockOutChannels entry (2); got 3",
            "CrossAttentionDim (cross_attention_dim) entries must all be equal",
            "AttentionHeadDim[1] (attention_head_dim) must lie in [1, 65536]; got 0",
            "AdditionEmbedType (addition_embed_type) is not supported by this library's UNet2DConditionModel",
        })
        {
            Assert.Contains(expected, e.Message);
        }
    }

    [Fact]
    public void BadInputsNameTheParameterBeforeLibtorchSeesThem()
    {
        using var scope = NewDisposeScope();
        using UNet2DConditionModel model = UNet2DConditionModel.FromPretrained(Sd1);
        Tensor sample = randn(2, 4, 8, 8), text = randn(2, 7, 24), t = tensor(new long[] { 1, 2 });

        var e = Assert.Throws<ArgumentException>(() => model.call(randn(2, 3, 8, 8), t, text));
        Assert.Equal("sample", e.ParamName);
        Assert.Contains("[N,4,H,W]", e.Message);
        Assert.Contains("[2,3,8,8]", e.Message);

        e = Assert.Throws<ArgumentException>(() => model.call(sample, t, randn(2, 7, 768)));
        Assert.Equal("encoderHiddenStates", e.ParamName);
        Assert.Contains("cross_attention_dim 24", e.Message);
        Assert.Contains("[2,7,768]", e.Message);

        e = Assert.Throws<ArgumentException>(() => model.call(sample, t, randn(1, 7, 24)));
        Assert.Equal("encoderHiddenStates", e.ParamName);

        e = Assert.Throws<ArgumentException>(() => model.Forward(sample, t, text, ones(2, 6)));
        Assert.Equal("encoderAttentionMask", e.ParamName);
        Assert.Contains("[2,7]", e.Message);
        Assert.Contains("[2,6]", e.Message);

        e = Assert.Throws<ArgumentException>(() => model.call(sample, tensor(new long[] { 1, 2, 3 }), text));
        Assert.Equal("timestep", e.ParamName);

        e = Assert.Throws<ArgumentException>(() => model.call(sample, t, text.to(ScalarType.BFloat16)));
        Assert.Equal("encoderHiddenStates", e.ParamName);
        Assert.Contains("BFloat16", e.Message);

        e = Assert.Throws<ArgumentException>(() => model.call(sample.to(ScalarType.Float64), t, text));
        Assert.Equal("sample", e.ParamName);
    }

    [Fact]
    public void ParameterCountEqualsDiffusersAtStableDiffusionConfigurations()
    {
        // Building SD 1.5's U-Net takes 3.4 GB and many seconds, too much for a unit test: the count is worked out from
        // the configuration (UNet2DConditionParameterCount, checked here against every built tiny model) and compared with
        // diffusers' own count at the real configurations (parameter_counts.json, random init in Python, no download).
        foreach (string name in new[] { "sd1", "sd2", "variants" })
        {
            using UNet2DConditionModel model = UNet2DConditionModel.FromPretrained(Path.Combine(UNet2DConditionModelParityTests.Dir, name));
            Assert.Equal(model.parameters().Sum(p => p.numel()), UNet2DConditionParameterCount.Of(model.Config));
        }

        using JsonDocument counts = JsonDocument.Parse(File.ReadAllText(Path.Combine(UNet2DConditionModelParityTests.Dir, "parameter_counts.json")));
        JsonElement hub = counts.RootElement.GetProperty("hub_models");
        Assert.Equal(859_520_964, hub.GetProperty("stable-diffusion-v1-5/stable-diffusion-v1-5").GetProperty("parameters").GetInt64());
        foreach (JsonProperty model in hub.EnumerateObject())
        {
            UNet2DConditionModelConfig config = UNet2DConditionModelConfig.FromJson(model.Value.GetProperty("config").GetRawText());
            Assert.Empty(config.GetViolations());
            Assert.Equal(model.Value.GetProperty("parameters").GetInt64(), UNet2DConditionParameterCount.Of(config));
        }
    }
}
