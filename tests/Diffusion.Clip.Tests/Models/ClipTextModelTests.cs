using Diffusion.Clip;
using Diffusion.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models;

/// <summary>
/// The text encoder and tokenizer of a diffusers Stable Diffusion folder (tests/reference/sd, written by
/// tools/reference/stable_diffusion.py: Hugging Face's CLIPTextModel forward and CLIPTokenizer written out in torch, seeded
/// tiny weights): SD 1 style (quick_gelu, padding with the end-of-text token, an old position_ids buffer in the file) and SD 2
/// style (gelu, padding with "!").
/// </summary>
public sealed class ClipTextModelTests
{
    // float32 on both sides, two layers of width 32 (4 heads of 8) and a 64-wide MLP; outputs after the final LayerNorm are of
    // order 1 (|x| ≤ 4.3). Each matmul, softmax and LayerNorm rounds at ~6e-8 relative and the two sides sum in different
    // orders, so per layer the difference is a few 1e-7 of the residual stream's size; two layers and the final LayerNorm
    // (which divides by a standard deviation of order 0.5–1) leave ~2e-6. 1e-5 absolute + 1e-5 relative is 5× that and still
    // far below what a wrong activation (gelu vs quick_gelu differ by up to 2e-2), a wrong pad id or a skipped LayerNorm gives.
    private const double Atol = 1e-5;
    private const double Rtol = 1e-5;

    private static string Sd => Path.Combine(TestEnvironment.ReferenceDir, "sd");

    [Fact]
    public void Sd1TextEncoderFolderLoadsAndMatchesTheReference()
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Sd, "io.safetensors"));
        using var model = ClipTextModel.FromPretrained(Path.Combine(Sd, "tiny", "text_encoder")); // skips the position_ids buffer
        ClipTokenizer tokenizer = ClipTokenizer.FromPretrained(Path.Combine(Sd, "tiny", "tokenizer"));
        Assert.Equal(ClipActivation.QuickGelu, model.Config.HiddenAct);
        Assert.Equal(77, tokenizer.ContextLength);
        Assert.Equal(tokenizer.EndOfTextId, tokenizer.PadId);

        var encoder = new ClipTextEncoder(model, tokenizer);
        Assert.Same(model, encoder.TextModel);
        Assert.Null(encoder.Model);
        Assert.Equal(32, encoder.EmbeddingDim);
        AssertIds(io["txt2img.prompt_ids"], tokenizer.Tokenize(["a red tulip in a garden"]));
        AssertIds(io["txt2img.uncond_ids"], tokenizer.Tokenize([""]));

        Tensor embeds = io["txt2img.embeds"]; // [uncond, uncond, cond, cond]
        Tensor actual = encoder.Encode(["", "a red tulip in a garden"]);
        AssertClose(embeds.index_select(0, tensor(new long[] { 0, 2 })), actual);
    }

    [Fact]
    public void Sd2StyleGeluEncoderPadsWithExclamationMarkAndTruncatesLongPrompts()
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Sd, "io.safetensors"));
        using var model = ClipTextModel.FromPretrained(Path.Combine(Sd, "text-gelu", "text_encoder"));
        ClipTokenizer tokenizer = ClipTokenizer.FromPretrained(Path.Combine(Sd, "text-gelu", "tokenizer"));
        Assert.Equal(ClipActivation.Gelu, model.Config.HiddenAct);
        Assert.Equal(0, tokenizer.PadId); // "!" is the first byte symbol

        string[] prompts = ["a red tulip in a garden", string.Join(' ', Enumerable.Repeat("red tulip", 40))];
        Assert.Equal(82, tokenizer.Encode(prompts[1]).Count);
        Tensor ids = tokenizer.Tokenize(prompts);
        AssertIds(io["gelu.ids"], ids);
        Assert.Equal(tokenizer.EndOfTextId, ids[1, 76].item<long>()); // truncated: the end token kept last

        using var noGrad = no_grad();
        AssertClose(io["gelu.hidden"], model.call(ids));
    }

    [Fact]
    public void SavedFolderReloadsBitForBitAndHalfPrecisionLoads()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var model = ClipTextModel.FromPretrained(Path.Combine(Sd, "text-gelu", "text_encoder"));
        model.SavePretrained(dir.Path);
        using var reloaded = ClipTextModel.FromPretrained(dir.Path);
        Assert.Equal(model.Config, reloaded.Config);
        foreach ((string key, Tensor value) in model.state_dict())
        {
            Assert.True(value.eq(reloaded.state_dict()[key]).all().item<bool>(), $"{key} differs after SavePretrained/FromPretrained");
        }

        using var half = ClipTextModel.FromPretrained(dir.Path, dtype: ScalarType.Float16);
        Assert.Equal(ScalarType.Float16, half.DType);
    }

    [Fact]
    public void RefusesAFullClipConfigAndMissingWeights()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        File.WriteAllText(Path.Combine(dir.Path, ClipTextModel.ConfigFileName), "{\"model_type\": \"clip\", \"text_config\": {}}");
        var wrongType = Assert.Throws<InvalidDataException>(() => ClipTextModel.FromPretrained(dir.Path));
        Assert.Contains("ClipModel.Load", wrongType.Message);

        File.Copy(Path.Combine(Sd, "tiny", "text_encoder", "config.json"), Path.Combine(dir.Path, ClipTextModel.ConfigFileName), overwrite: true);
        var noWeights = Assert.Throws<FileNotFoundException>(() => ClipTextModel.FromPretrained(dir.Path));
        Assert.Contains(ClipTextModel.Fp16WeightsFileName, noWeights.Message);

        // A config that breaks a rule: refused in the library's one layout, the file first and one rule a line.
        string configPath = Path.Combine(dir.Path, ClipTextModel.ConfigFileName);
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 5", StringComparison.Ordinal));
        var broken = Assert.Throws<InvalidDataException>(() => ClipTextModel.FromPretrained(dir.Path));
        Assert.StartsWith($"{configPath}: not a CLIPTextModel this library can build:{Environment.NewLine} - ", broken.Message, StringComparison.Ordinal);
        Assert.Contains("NumAttentionHeads", broken.Message, StringComparison.Ordinal);
    }

    private static void AssertIds(Tensor expected, Tensor actual) =>
        Assert.Equal(expected.data<long>().ToArray(), actual.data<long>().ToArray());

    private static void AssertClose(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        (double maxAbs, double excess) = ReferenceJson.Compare(actual, expected, Atol, Rtol);
        Assert.True(excess <= 0, $"max |diff| {maxAbs:E2} exceeds {Atol:E0} + {Rtol:E0}·|expected|");
    }
}
