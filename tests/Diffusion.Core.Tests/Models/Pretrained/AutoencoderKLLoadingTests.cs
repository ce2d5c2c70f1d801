using System.Text.Json;
using System.Text.Json.Nodes;
using Diffusion.IO;
using Diffusion.Models;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models.Pretrained;

/// <summary><see cref="AutoencoderKL.FromPretrained"/>, <see cref="AutoencoderKL.SavePretrained"/> and the config:
/// folder layouts, key renaming, dtypes, bad input, and the parameter count at Stable Diffusion 1.5's configuration.</summary>
public sealed class AutoencoderKLLoadingTests
{
    private static readonly string OneLayer = Path.Combine(AutoencoderKLParityTests.Dir, "kl_one_layer");

    private static TempDirectory CopyOf(string folder, bool weights = true) => ModelFolders.CopyOf(folder, AutoencoderKL.WeightsFileName, weights);

    private static Dictionary<string, Tensor> Io() => SafeTensors.Load(Path.Combine(OneLayer, "io.safetensors"));

    private static void RewriteConfig(string folder, Action<JsonObject> edit) => ModelFolders.RewriteConfig(folder, edit);

    [Fact]
    public void ConfigRoundTripsToDiffusersOwnConfigJson()
    {
        // tests/reference/vae/*/config.json were written by diffusers' to_json_string: ours writes the same object.
        foreach (string name in AutoencoderKLParityTests.Cases)
        {
            string json = File.ReadAllText(Path.Combine(AutoencoderKLParityTests.Dir, name, "config.json"));
            var unknown = new List<string>();
            AutoencoderKLConfig config = AutoencoderKLConfig.FromJson(json, unknown);
            Assert.Empty(unknown);
            Assert.Empty(config.GetViolations());
            JsonNode theirs = JsonNode.Parse(json)!, ours = JsonNode.Parse(config.ToJson())!;
            Assert.True(JsonNode.DeepEquals(theirs, ours), $"{name}: diffusers {theirs.ToJsonString()}\n ours {ours.ToJsonString()}");
        }

        AutoencoderKLConfig two = AutoencoderKLConfig.FromJson(File.ReadAllText(Path.Combine(AutoencoderKLParityTests.Dir, "two_layers_no_quant", "config.json")));
        Assert.Equal(0.0609, two.ShiftFactor);
        Assert.False(two.UseQuantConv || two.UsePostQuantConv || two.MidBlockAddAttention);
        Assert.Equal(new AutoencoderKLConfig { LatentsMean = [0.1, 0.2, 0.3, 0.4], LatentsStd = [1, 2, 3, 4], SampleSize = 64 },
            AutoencoderKLConfig.FromJson("""{"latents_mean": [0.1, 0.2, 0.3, 0.4], "latents_std": [1, 2, 3, 4.0], "sample_size": [64, 64]}"""));
    }

    [Fact]
    public void SavedFolderLoadsBackWithTheSameOutputAndDiffusersConfigKeys()
    {
        using var scope = NewDisposeScope();
        using AutoencoderKL vae = AutoencoderKL.FromPretrained(OneLayer);
        Assert.Equal(0.13025, vae.ScalingFactor);
        Assert.Equal(2, vae.DownscaleFactor);
        using var temp = TestEnvironment.CreateTempDirectory();
        vae.SavePretrained(temp.Path);

        Assert.Equal(["config.json", AutoencoderKL.WeightsFileName], Directory.GetFiles(temp.Path).Select(Path.GetFileName).Order());
        JsonObject saved = JsonNode.Parse(File.ReadAllText(Path.Combine(temp.Path, "config.json")))!.AsObject();
        Assert.Equal("AutoencoderKL", (string?)saved["_class_name"]);
        using AutoencoderKL reloaded = AutoencoderKL.FromPretrained(temp.Path);
        Assert.Equal(vae.Config, reloaded.Config);
        Tensor z = Io()["z"];
        Assert.Equal(0f, (vae.Decode(z) - reloaded.Decode(z)).abs().max().item<float>());
    }

    [Fact]
    public void FreshModelSavesAFolderDiffusersOpens()
    {
        // A model of ours (TorchSharp's initialisation, norms perturbed), saved. Set DIFFUSION_EXPORT_VAE to a folder to
        // keep it with io.safetensors (our inputs and outputs); then
        //   /usr/bin/python3 tools/reference/autoencoder_kl.py --check-ours <folder>
        // builds diffusers' own AutoencoderKL from our config.json, loads our weights with strict=True and compares.
        using var scope = NewDisposeScope();
        manual_seed(5);
        var config = new AutoencoderKLConfig
        {
            BlockOutChannels = [16, 32], DownBlockTypes = ["DownEncoderBlock2D", "DownEncoderBlock2D"],
            UpBlockTypes = ["UpDecoderBlock2D", "UpDecoderBlock2D"], NormNumGroups = 8, SampleSize = 16, LayersPerBlock = 2,
            ShiftFactor = 0.1, ScalingFactor = 0.3,
        };
        using var vae = new AutoencoderKL(config);
        using (no_grad())
        {
            foreach ((string name, TorchSharp.Modules.Parameter p) in vae.named_parameters().Where(p => p.name.Contains("norm")))
            {
                p.add_(randn_like(p) * 0.2);
            }
        }

        string? export = Environment.GetEnvironmentVariable("DIFFUSION_EXPORT_VAE");
        using var temp = TestEnvironment.CreateTempDirectory();
        string folder = string.IsNullOrEmpty(export) ? temp.Path : export;
        vae.SavePretrained(folder);
        Dictionary<string, Tensor> weights = SafeTensors.Load(Path.Combine(folder, AutoencoderKL.WeightsFileName));
        Assert.Contains("encoder.mid_block.attentions.0.to_out.0.weight", weights.Keys);
        Assert.Contains("decoder.up_blocks.1.resnets.2.conv2.weight", weights.Keys);
        Assert.Contains("encoder.down_blocks.0.downsamplers.0.conv.weight", weights.Keys);
        Assert.Equal(vae.state_dict().Count, weights.Count);
        if (!string.IsNullOrEmpty(export))
        {
            Tensor image = rand(2, 3, 16, 16) * 2 - 1, z = randn(2, 4, 8, 8);
            using DiagonalGaussianDistribution posterior = vae.Encode(image);
            SafeTensors.Save(new Dictionary<string, Tensor> { ["image"] = image, ["z"] = z, ["decode"] = vae.Decode(z), ["encode_mean"] = posterior.Mean },
                Path.Combine(folder, "io.safetensors"));
        }

        Assert.Equal(config, AutoencoderKL.FromPretrained(folder).Config);
    }

    [Fact]
    public void OldHubFolderWithAPickleAndOldAttentionNamesGivesDiffusersOutput()
    {
        // tests/reference/vae/kl_one_layer_bin: the kl_one_layer weights saved by torch.save, the mid blocks' attention
        // under query/key/value/proj_attn, as VAE checkpoints before diffusers 0.14 stored them.
        using var scope = NewDisposeScope();
        var logs = new CapturingLoggerFactory();
        using AutoencoderKL vae = AutoencoderKL.FromPretrained(Path.Combine(AutoencoderKLParityTests.Dir, "kl_one_layer_bin"), loggerFactory: logs);
        Assert.Contains(logs.Messages, m => m.Message.Contains("renamed 16 attention weights"));
        Dictionary<string, Tensor> io = Io();
        AutoencoderKLParityTests.AssertClose(io["decode"], vae.Decode(io["z"]), "kl_one_layer_bin decode");
        using DiagonalGaussianDistribution posterior = vae.Encode(io["image"]);
        AutoencoderKLParityTests.AssertClose(io["encode_mean"], posterior.Mean, "kl_one_layer_bin encode");
    }

    [Fact]
    public void Fp16VariantLoadsIntoFloat32Float16AndBFloat16()
    {
        using var scope = NewDisposeScope();
        using var temp = CopyOf(OneLayer, weights: false);
        Dictionary<string, Tensor> weights = SafeTensors.Load(Path.Combine(OneLayer, AutoencoderKL.WeightsFileName));
        SafeTensors.Save(weights.ToDictionary(p => p.Key, p => p.Value.to(ScalarType.Float16)), Path.Combine(temp.Path, "diffusion_pytorch_model.fp16.safetensors"));
        Tensor z = Io()["z"], expected = Io()["decode"];

        // Weights rounded to float16 (relative 2^-11 ≈ 5e-4) move outputs of scale 1.3 through ~15 layers by some 1e-3.
        using AutoencoderKL full = AutoencoderKL.FromPretrained(temp.Path);
        Assert.Equal(ScalarType.Float32, full.DType);
        Assert.InRange((full.Decode(z) - expected).abs().max().item<float>(), 1e-6f, 2e-2f);

        // float16 and bfloat16 everywhere (11 and 8 mantissa bits): within 2e-2 and 0.1 of outputs of scale 1.3.
        foreach ((ScalarType type, float bound) in new[] { (ScalarType.Float16, 2e-2f), (ScalarType.BFloat16, 0.1f) })
        {
            using AutoencoderKL low = AutoencoderKL.FromPretrained(temp.Path, dtype: type);
            Assert.True(low.parameters().All(p => p.dtype == type));
            Tensor decoded = low.Decode(z.to(type));
            Assert.Equal(type, decoded.dtype);
            Assert.InRange((decoded.to(ScalarType.Float32) - expected).abs().max().item<float>(), 1e-6f, bound);
            using DiagonalGaussianDistribution posterior = low.Encode(Io()["image"].to(type));
            Assert.Equal(type, posterior.Sample(new Generator(1, CPU)).dtype);
        }
    }

    [Fact]
    public void MissingFilesNameWhatIsMissing()
    {
        Assert.Throws<DirectoryNotFoundException>(() => AutoencoderKL.FromPretrained("/nonexistent/vae"));
        using (var noConfig = TestEnvironment.CreateTempDirectory())
        {
            Assert.Contains("config.json", Assert.Throws<FileNotFoundException>(() => AutoencoderKL.FromPretrained(noConfig.Path)).Message);
        }

        using var noWeights = CopyOf(OneLayer, weights: false);
        var missing = Assert.Throws<FileNotFoundException>(() => AutoencoderKL.FromPretrained(noWeights.Path));
        Assert.Contains("diffusion_pytorch_model.safetensors", missing.Message);
        Assert.Contains("diffusion_pytorch_model.fp16.safetensors", missing.Message);
        Assert.Contains("diffusion_pytorch_model.bin", missing.Message);
    }

    [Theory]
    [InlineData("block_out_channels", "\"abc\"", "an array of whole numbers")]
    [InlineData("latent_channels", "2.5", "a whole number")]
    [InlineData("force_upcast", "\"yes\"", "true or false")]
    [InlineData("act_fn", "\"tanh\"", "one of \"silu\"")]
    [InlineData("scaling_factor", "\"big\"", "a number")]
    [InlineData("latents_mean", "[\"a\"]", "a number")]
    [InlineData("sample_size", "null", "a whole number or [side, side]")]
    public void WrongConfigTypeNamesKeyExpectedAndActual(string key, string json, string expected)
    {
        using var temp = CopyOf(OneLayer);
        RewriteConfig(temp.Path, c => c[key] = JsonNode.Parse(json));
        var e = Assert.Throws<InvalidDataException>(() => AutoencoderKL.FromPretrained(temp.Path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains($"\"{key}\"", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ValidationListsEveryViolation()
    {
        var config = new AutoencoderKLConfig
        {
            BlockOutChannels = [30, 64],
            DownBlockTypes = ["DownEncoderBlock2D", "AttnDownEncoderBlock2D"],
            UpBlockTypes = ["UpDecoderBlock2D"],
            LatentChannels = 0,
            ScalingFactor = 0,
            ShiftFactor = double.NaN,
            LatentsStd = [1, -1],
        };
        var e = Assert.Throws<ArgumentException>(() => new AutoencoderKL(config));
        foreach (string expected in new[]
        {
            "BlockOutChannels[0] (block_out_channels) must be a multiple of NormNumGroups (norm_num_groups, 32); got 30",
            "DownBlockTypes[1] (down_block_types) must be \"DownEncoderBlock2D\"",
            "got \"AttnDownEncoderBlock2D\"",
            "UpBlockTypes (up_block_types) must have one entry per BlockOutChannels entry (2); got 1",
            "LatentChannels (latent_channels) must lie in [1, 65536]; got 0",
            "ScalingFactor (scaling_factor) must be positive and finite; got 0",
            "ShiftFactor (shift_factor) must be finite or null; got NaN",
            "LatentsStd (latents_std) must have one entry per latent channel (0) or be null; got 2 entries",
            "LatentsStd (latents_std) entries must be positive and finite; got -1",
        })
        {
            Assert.Contains(expected, e.Message);
        }
    }

    [Fact]
    public void ConfigSizesAreCheckedAgainstTheWeightsBeforeTheModelIsBuilt()
    {
        // A damaged digit must not allocate a model far larger than the file.
        using var temp = CopyOf(OneLayer);
        RewriteConfig(temp.Path, c =>
        {
            c["block_out_channels"] = new JsonArray(16, 65536);
            c["layers_per_block"] = 2;
        });
        var e = Assert.Throws<InvalidDataException>(() => AutoencoderKL.FromPretrained(temp.Path));
        Assert.Contains("checked before building the model", e.Message);
        Assert.Contains(AutoencoderKL.WeightsFileName, e.Message);
        Assert.Contains("encoder.conv_out.weight: config.json says [8,65536,3,3], the file has [8,32,3,3]", e.Message);
        Assert.Contains("encoder.down_blocks.0.resnets.1.conv2.weight: config.json says [16,16,3,3], the file has no such tensor", e.Message);

        using var quant = CopyOf(Path.Combine(AutoencoderKLParityTests.Dir, "two_layers_no_quant"));
        RewriteConfig(quant.Path, c => c["use_quant_conv"] = true);
        Assert.Contains("quant_conv.weight: config.json says [8,8,1,1], the file has no such tensor",
            Assert.Throws<InvalidDataException>(() => AutoencoderKL.FromPretrained(quant.Path)).Message);
    }

    [Fact]
    public void InputsAreCheckedBeforeLibtorch()
    {
        using var scope = NewDisposeScope();
        using AutoencoderKL vae = AutoencoderKL.FromPretrained(OneLayer);
        Assert.Contains("z must be [N,4,H,W] (latent_channels = 4)", Assert.Throws<ArgumentException>(() => vae.Decode(randn(1, 3, 8, 8))).Message);
        Assert.Contains("got [4,8,8]", Assert.Throws<ArgumentException>(() => vae.Decode(randn(4, 8, 8))).Message);
        Assert.Contains("x must be [N,3,H,W] (in_channels = 3)", Assert.Throws<ArgumentException>(() => vae.Encode(randn(1, 4, 16, 16))).Message);
        Assert.Contains("sample must be [N,3,H,W]", Assert.Throws<ArgumentException>(() => vae.Forward(randn(3, 16, 16))).Message);
        Assert.Contains("Float64", Assert.Throws<ArgumentException>(() => vae.Decode(randn(1, 4, 8, 8, ScalarType.Float64))).Message);
        Assert.Contains("parameters must be a floating tensor [N,2C,H,W]", Assert.Throws<ArgumentException>(() => new DiagonalGaussianDistribution(randn(1, 3, 4, 4))).Message);
    }

    [Fact]
    public void TilingNeedsLatentTilesOfAtLeastTwo()
    {
        using var scope = NewDisposeScope();
        using var vae = new AutoencoderKL(new AutoencoderKLConfig { BlockOutChannels = [8, 8], DownBlockTypes = ["DownEncoderBlock2D", "DownEncoderBlock2D"], UpBlockTypes = ["UpDecoderBlock2D", "UpDecoderBlock2D"], NormNumGroups = 4, SampleSize = 2 });
        vae.EnableTiling();
        var e = Assert.Throws<InvalidOperationException>(() => vae.Decode(randn(1, 4, 4, 4)));
        Assert.Contains("sample_size 2", e.Message);
    }

    [Fact]
    public void DeterministicDistributionHasNoSpreadAndNoDivergence()
    {
        using var scope = NewDisposeScope();
        Tensor parameters = randn(2, 8, 3, 3);
        using var d = new DiagonalGaussianDistribution(parameters, deterministic: true);
        Assert.Equal(0f, d.Std.abs().max().item<float>());
        Assert.Equal(0f, d.Var.abs().max().item<float>());
        Assert.Equal(new long[] { 1 }, d.Kl().shape);
        Assert.Equal(0f, d.Kl().item<float>());
        Assert.Equal(0f, (d.Sample() - d.Mean).abs().max().item<float>());

        // LogVar is clamped to [-30, 20] as in diffusers
        using var wide = new DiagonalGaussianDistribution(cat([zeros(1, 1, 1, 2), tensor(new float[] { -100, 100 }).reshape(1, 1, 1, 2)], 1));
        Assert.Equal(new[] { -30f, 20f }, wide.LogVar.flatten().data<float>().ToArray());
    }

    [Fact]
    public void ParameterCountEqualsDiffusersAtStableDiffusion15()
    {
        // tools/reference/autoencoder_kl.py counted diffusers' own AutoencoderKL at SD 1.5's vae/config.json (random init).
        using JsonDocument counts = JsonDocument.Parse(File.ReadAllText(Path.Combine(AutoencoderKLParityTests.Dir, "parameter_counts.json")));
        JsonElement sd15 = counts.RootElement.GetProperty("stable_diffusion_v1_5_vae");
        AutoencoderKLConfig config = AutoencoderKLConfig.FromJson(sd15.GetProperty("config").GetRawText());
        using var vae = new AutoencoderKL(config);
        Assert.Equal(83_653_863, sd15.GetProperty("parameters").GetInt64());
        Assert.Equal(83_653_863, vae.parameters().Sum(p => p.numel()));
        Assert.Equal(sd15.GetProperty("state_dict_entries").GetInt32(), vae.state_dict().Count);
        Assert.Equal((512, 64, 8), (vae.TileSampleMinSize, vae.TileLatentMinSize, vae.DownscaleFactor));
    }
}
