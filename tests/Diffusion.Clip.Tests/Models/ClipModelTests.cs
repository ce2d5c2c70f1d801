using Diffusion.IO;
using Diffusion.Clip;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models;

public sealed class ClipModelTests
{
    private static ClipConfig OneLayer => ClipConfig.Tiny(vocabSize: 100, imageSize: 16, contextLength: 8) with
    {
        TextConfig = ClipConfig.Tiny().TextConfig with { VocabSize = 100, MaxPositionEmbeddings = 8, NumHiddenLayers = 1 },
        VisionConfig = ClipConfig.Tiny().VisionConfig with { ImageSize = 16, NumHiddenLayers = 1 },
    };

    [Fact]
    public void VitBasePatch32HasExactlyTheCheckpointsParameterCount()
    {
        // Built from scratch, no forward: openai/clip-vit-base-patch32 has 151,277,313 parameters.
        using var model = new ClipModel(ClipConfig.VitBasePatch32);
        long count = model.parameters().Sum(p => p.numel());
        Assert.Equal(151_277_313L, count);
    }

    [Fact]
    public void StateDictKeysAndShapesAreHuggingFaces()
    {
        using var model = new ClipModel(OneLayer);
        var actual = model.state_dict().ToDictionary(kv => kv.Key, kv => string.Join('x', kv.Value.shape));
        var expected = new Dictionary<string, string>
        {
            ["logit_scale"] = string.Empty,
            ["text_projection.weight"] = "16x32",
            ["visual_projection.weight"] = "16x32",
            ["text_model.embeddings.token_embedding.weight"] = "100x32",
            ["text_model.embeddings.position_embedding.weight"] = "8x32",
            ["text_model.final_layer_norm.weight"] = "32",
            ["text_model.final_layer_norm.bias"] = "32",
            ["vision_model.embeddings.class_embedding"] = "32",
            ["vision_model.embeddings.patch_embedding.weight"] = "32x3x8x8",
            ["vision_model.embeddings.position_embedding.weight"] = "5x32",
            ["vision_model.pre_layrnorm.weight"] = "32",
            ["vision_model.pre_layrnorm.bias"] = "32",
            ["vision_model.post_layernorm.weight"] = "32",
            ["vision_model.post_layernorm.bias"] = "32",
        };
        foreach (string tower in new[] { "text_model", "vision_model" })
        {
            string layer = $"{tower}.encoder.layers.0.";
            foreach (string proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
            {
                expected[$"{layer}self_attn.{proj}.weight"] = "32x32";
                expected[$"{layer}self_attn.{proj}.bias"] = "32";
            }

            foreach (string norm in new[] { "layer_norm1", "layer_norm2" })
            {
                expected[$"{layer}{norm}.weight"] = "32";
                expected[$"{layer}{norm}.bias"] = "32";
            }

            expected[$"{layer}mlp.fc1.weight"] = "64x32";
            expected[$"{layer}mlp.fc1.bias"] = "64";
            expected[$"{layer}mlp.fc2.weight"] = "32x64";
            expected[$"{layer}mlp.fc2.bias"] = "32";
        }

        Assert.Equal(expected.OrderBy(kv => kv.Key, StringComparer.Ordinal), actual.OrderBy(kv => kv.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void LogitScaleStartsAtLnOneOverPointZeroSevenAndIsClampedAt100()
    {
        using var model = new ClipModel(OneLayer);
        Assert.Equal(2.6592, model.state_dict()["logit_scale"].item<float>(), 4);
        Assert.InRange(model.LogitScale, (1 / 0.07) - 0.01, (1 / 0.07) + 0.01); // 2.6592 is ln(1/0.07) = 2.65926 to 4 decimals
        using (no_grad())
        {
            model.state_dict()["logit_scale"].fill_(10f);
        }

        Assert.Equal(100f, model.LogitScale);
        using Tensor scale = model.GetLogitScale();
        Assert.Equal(100f, scale.item<float>());
    }

    [Fact]
    public void TextPoolingTakesTheEndTokenAndIsBlindToWhatFollows()
    {
        manual_seed(5);
        using var model = new ClipModel(OneLayer);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // End-of-text (99, the largest id) at position 3; what follows must not matter (causal mask).
        Tensor a = tensor(new long[] { 98, 10, 11, 99, 0, 0, 0, 0 }).unsqueeze(0);
        Tensor b = tensor(new long[] { 98, 10, 11, 99, 99, 5, 6, 7 }).unsqueeze(0);
        Tensor c = tensor(new long[] { 98, 10, 12, 99, 0, 0, 0, 0 }).unsqueeze(0);
        Tensor fa = model.GetTextFeatures(a), fb = model.GetTextFeatures(b), fc = model.GetTextFeatures(c);
        Assert.True(fa.allclose(fb, rtol: 0, atol: 1e-6), "tokens after the end token changed the text embedding");
        Assert.False(fa.allclose(fc, rtol: 0, atol: 1e-4), "a token before the end token did not change the text embedding");

        // Pooled state = the hidden state at the end token, projected.
        Tensor hidden = model.GetTextHiddenStates(a); // [1, 8, 32]
        Assert.Equal([1L, 8L, 32L], hidden.shape);
    }

    [Fact]
    public void ForwardGivesScaledCosinesPerImageAndText()
    {
        manual_seed(6);
        using var model = new ClipModel(OneLayer);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor pixels = randn(3, 3, 16, 16);
        Tensor ids = tensor(new long[] { 98, 1, 99, 0, 0, 0, 0, 0, 98, 2, 3, 99, 0, 0, 0, 0 }).view(2, 8);
        Tensor logits = model.forward(pixels, ids);
        Assert.Equal([3L, 2L], logits.shape);
        Tensor image = model.GetImageFeatures(pixels), text = model.GetTextFeatures(ids);
        Tensor cosines = (image / image.norm(1, keepdim: true)).matmul((text / text.norm(1, keepdim: true)).t());
        Assert.True(logits.allclose(cosines * model.LogitScale, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void InvalidInputsAreRejectedWithTheirShape()
    {
        using var model = new ClipModel(OneLayer);
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => model.GetImageFeatures(zeros(2, 3, 32, 32)));
        Assert.Equal("pixelValues must be a float tensor [N,3,16,16]; got [2,3,32,32] Float32. (Parameter 'pixelValues')", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.GetTextFeatures(tensor(new long[] { 98, 100, 99 }).unsqueeze(0)));
        Assert.Contains("ids in 0..99; got ids from 98 to 100", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => model.GetTextFeatures(zeros(1, 9, dtype: int64)));
        Assert.Contains("1 ≤ T ≤ 8; got [1,9]", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => model.EncodeTexts(["a red tulip"]));
        Assert.Throws<ArgumentException>(() => model.Similarity(zeros(1, 3, 16, 16), "a"));
        e = Assert.Throws<ArgumentException>(() => new ClipModel(ClipConfig.Tiny() with { ProjectionDim = 0 }));
        Assert.Contains("ProjectionDim must be positive; got 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ImageInputsAgreeAcrossBitmapFileAndTensor()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        ClipTokenizer tokenizer = ClipTokenizer.FromCorpus(["a red tulip", "a yellow daisy"], contextLength: 8);
        manual_seed(8);
        using var model = new ClipModel(ClipConfig.Tiny(tokenizer.VocabularySize, imageSize: 16, contextLength: 8), tokenizer);
        using var bitmap = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(20, 16));
        bitmap.Erase(new SkiaSharp.SKColor(200, 40, 60));
        bitmap.SetPixel(3, 4, SkiaSharp.SKColors.Yellow);
        string png = Path.Combine(dir.Path, "x.png");
        using (SkiaSharp.SKData data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100))
        {
            File.WriteAllBytes(png, data.ToArray());
        }

        using Tensor pixels = TensorImage.FromBitmap(bitmap);
        float fromTensor = model.Similarity(pixels, "a red tulip");
        Assert.Equal(fromTensor, model.Similarity(bitmap, "a red tulip"), 5);
        Assert.Equal(fromTensor, model.Similarity(png, "a red tulip"), 5);
        Assert.InRange(fromTensor, -1f, 1f);

        IReadOnlyList<float> probabilities = model.Classify(bitmap, ["red tulip", "yellow daisy"], ["a {}", "{}"]);
        Assert.Equal(2, probabilities.Count);
        Assert.Equal(1f, probabilities.Sum(), 4);
        Assert.Equal(probabilities, model.Classify(png, ["red tulip", "yellow daisy"], ["a {}", "{}"]));

        // Classify = softmax(scale · cos(image, mean of normalised template embeddings, renormalised)).
        using var scope = NewDisposeScope();
        Tensor image = model.EncodeImages(pixels); // [1, P]
        Tensor texts = model.EncodeTexts(["a red tulip", "red tulip", "a yellow daisy", "yellow daisy"]).view(2, 2, -1);
        Tensor classes = texts.mean([1]);
        classes = classes / classes.norm(1, keepdim: true);
        float[] expected = (image.matmul(classes.t()) * model.LogitScale).softmax(-1).data<float>().ToArray();
        Assert.Equal(expected[0], probabilities[0], 5);

        var e = Assert.Throws<ArgumentException>(() => model.Classify(bitmap, ["a"], ["a photo"]));
        Assert.Equal("templates[0] must contain '{}' where the label goes; got 'a photo'. (Parameter 'templates')", e.Message);
        Assert.Throws<ArgumentException>(() => model.Classify(bitmap, []));
    }

    [Fact]
    public void InferenceLeavesNoLiveTensorsBehind()
    {
        ClipTokenizer tokenizer = ClipTokenizer.FromCorpus(["a red tulip", "a yellow daisy"], contextLength: 8);
        using var model = new ClipModel(ClipConfig.Tiny(tokenizer.VocabularySize, imageSize: 16, contextLength: 8), tokenizer);
        using Tensor image = rand(3, 20, 24);
        _ = model.Classify(image, ["red tulip", "yellow daisy"], ["a {}"]);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 5; i++)
        {
            _ = model.Similarity(image, "a red tulip");
            _ = model.Classify(image, ["red tulip", "yellow daisy"], ["a {}"]);
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
