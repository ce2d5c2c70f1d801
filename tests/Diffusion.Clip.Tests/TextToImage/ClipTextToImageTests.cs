using Diffusion.Clip;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.TextToImage;

public sealed class ClipTextToImageTests
{
    private static readonly string[] Captions = ["a red tulip", "a blue aster", "a yellow sunflower", "a white daisy"];

    private static ClipModel TinyClip()
    {
        manual_seed(11);
        ClipTokenizer tokenizer = ClipTokenizer.FromCorpus(Captions, contextLength: 8);
        ClipConfig config = ClipConfig.Tiny(tokenizer.VocabularySize, imageSize: 16, contextLength: 8);
        return new ClipModel(config with { TextConfig = config.TextConfig with { NumHiddenLayers = 1 }, VisionConfig = config.VisionConfig with { NumHiddenLayers = 1 } }, tokenizer);
    }

    [Fact]
    public void EncoderGivesTheFrozenPerTokenHiddenStates()
    {
        using var scope = NewDisposeScope();
        using ClipModel clip = TinyClip();
        var encoder = new ClipTextEncoder(clip);
        Assert.Equal(8, encoder.SequenceLength);
        Assert.Equal(32, encoder.EmbeddingDim);
        Assert.All(clip.parameters(), p => Assert.False(p.requires_grad));
        Assert.False(clip.training);

        Tensor states = encoder.Encode(["a red tulip", string.Empty]);
        Assert.Equal(new long[] { 2, 8, 32 }, states.shape);
        Assert.Equal(ScalarType.Float32, states.dtype);
        Assert.False(states.requires_grad);
        Tensor expected = clip.GetTextHiddenStates(clip.Tokenizer!.Tokenize(["a red tulip", string.Empty]));
        Assert.True(states.allclose(expected, rtol: 0, atol: 0));
        Assert.False(states[0].allclose(states[1], rtol: 0, atol: 1e-3), "the prompt and the empty prompt encode alike");

        Assert.Equal("texts must hold at least one text; got none. (Parameter 'texts')",
            Assert.Throws<ArgumentException>(() => encoder.Encode(Array.Empty<string>())).Message);
        using var noTokenizer = new ClipModel(clip.Config);
        Assert.StartsWith("model must have a tokenizer", Assert.Throws<ArgumentException>(() => new ClipTextEncoder(noTokenizer)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PipelineGeneratesFromClipEmbeddings()
    {
        using var scope = NewDisposeScope();
        using ClipModel clip = TinyClip();
        var encoder = new ClipTextEncoder(clip);
        manual_seed(12);
        using var unet = new ConditionalUNet(new ConditionalUNetOptions
        {
            UNet = new UNetOptions { HiddenDims = [16, 32, 32], ImageSize = 8 },
            ContextDim = encoder.EmbeddingDim,
            CrossAttentionHeads = 2,
            CrossAttentionHeadDim = 8,
        });
        var pipeline = new TextToImagePipeline(unet, encoder, new DdimScheduler(DdimSchedulerOptions.Book));
        Tensor images = pipeline.Generate(["a red tulip", "a blue aster"], imagesPerPrompt: 2, inferenceSteps: 3, guidanceScale: 3, seed: 1);
        Assert.Equal(new long[] { 4, 3, 8, 8 }, images.shape);
        Assert.True(images.eq(pipeline.Generate(["a red tulip", "a blue aster"], 2, 3, 3, seed: 1)).all().item<bool>());
    }

    [Fact]
    public void PromptAlignmentClassifiesAndMeasuresSimilarity()
    {
        using var scope = NewDisposeScope();
        using ClipModel clip = TinyClip();
        Tensor images = rand([3, 3, 16, 16], generator: new Generator(4));
        int[] targets = [0, 2, 3];
        PromptAlignmentResult result = PromptAlignment.Measure(clip, images, targets, Captions);

        Tensor cosines = clip.EncodeImages(images).matmul(clip.EncodeTexts(Captions).t()); // [3, 4]
        Assert.Equal(targets, result.Targets);
        Assert.Equal(cosines.argmax(1).data<long>().ToArray().Select(p => (int)p), result.Predicted);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(cosines[i, targets[i]].item<float>(), result.Similarities[i], 1e-5f);
        }

        Assert.Equal(result.Predicted.Zip(targets).Count(p => p.First == p.Second) / 3.0, result.Accuracy);
        Assert.Equal(result.Similarities.Average(s => (double)s), result.MeanSimilarity, 1e-9);
        Assert.Equal(1.0, result.AccuracyWhere((_, _) => true));
        Assert.StartsWith("images must be [N,3,H,W] with N = targets.Count (2)",
            Assert.Throws<ArgumentException>(() => PromptAlignment.Measure(clip, images, [0, 1], Captions)).Message, StringComparison.Ordinal);
        Assert.StartsWith("targets[1] must lie in [0, 3]; got 4.",
            Assert.Throws<ArgumentOutOfRangeException>(() => PromptAlignment.Measure(clip, images, [0, 4, 1], Captions)).Message, StringComparison.Ordinal);
    }
}
