using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using Diffusion.Tests.Models.Conditional;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Pipelines;

public sealed class TextToImagePipelineTests
{
    // Batched and unbatched forward passes may sum in different orders; 1e-5 is far below any effect tested here.
    private const double Tolerance = 1e-5;

    private static TextToImagePipeline Pipeline(int? numClasses = null, INoiseScheduler? scheduler = null) =>
        new(ConditionalTestModels.UNet(numClasses: numClasses), new HashTextEncoder(), scheduler ?? new DdimScheduler(DdimSchedulerOptions.Book));

    [Fact]
    public void ShapesRangeAndDeterminismPerSeed()
    {
        using var scope = NewDisposeScope();
        TextToImagePipeline pipeline = Pipeline();
        Tensor first = pipeline.Generate("a red tulip", count: 2, inferenceSteps: 3, guidanceScale: 4, seed: 5);
        Tensor again = pipeline.Generate("a red tulip", count: 2, inferenceSteps: 3, guidanceScale: 4, seed: 5);
        Tensor otherSeed = pipeline.Generate("a red tulip", count: 2, inferenceSteps: 3, guidanceScale: 4, seed: 6);
        Tensor otherPrompt = pipeline.Generate("a blue daisy", count: 2, inferenceSteps: 3, guidanceScale: 4, seed: 5);

        Assert.Equal(new long[] { 2, 3, 8, 8 }, first.shape);
        Assert.Equal(ScalarType.Float32, first.dtype);
        Assert.Equal(DeviceType.CPU, first.device_type);
        Assert.True(first.min().item<float>() >= 0 && first.max().item<float>() <= 1, "images outside [0, 1]");
        Assert.True(ConditionalTestModels.Same(first, again), "the same seed gave different images");
        Assert.False(first.allclose(otherSeed, rtol: 0, atol: 1e-3), "different seeds gave the same images");
        Assert.False(first.allclose(otherPrompt, rtol: 0, atol: 1e-3), "the prompt has no effect");

        Tensor grid = pipeline.Generate(["a red tulip", "a blue daisy", "a yellow sunflower"], imagesPerPrompt: 2, inferenceSteps: 3, seed: 5);
        Assert.Equal(new long[] { 6, 3, 8, 8 }, grid.shape);
    }

    [Fact]
    public void GuidanceScaleOneIsThePlainConditionalPrediction()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        TextToImagePipeline pipeline = Pipeline();
        var encoder = new HashTextEncoder();
        Tensor x = randn([2, 3, 8, 8], generator: new Generator(3));
        Tensor t = tensor(500L);
        Tensor cond = encoder.Encode(["a red tulip", "a pink rose"]);
        Tensor uncond = encoder.Encode([string.Empty]);

        Tensor plain = pipeline.UNet.call(x, t, cond, null);
        Assert.True(ConditionalTestModels.Same(plain, pipeline.GuidedNoise(x, t, cond, null, null, guidanceScale: 1)), "s = 1 is not the conditional prediction");

        Tensor u = pipeline.UNet.call(x, t, uncond.expand(2, -1, -1), null);
        Tensor guided = pipeline.GuidedNoise(x, t, cond, uncond, null, guidanceScale: 3.5);
        Assert.True(guided.allclose(u + (3.5 * (plain - u)), rtol: 0, atol: 1e-4), "s = 3.5 is not u + s(c - u)");
        Assert.True(pipeline.GuidedNoise(x, t, cond, uncond, null, guidanceScale: 0).allclose(u, rtol: 0, atol: Tolerance), "s = 0 is not the unconditional prediction");
    }

    [Fact]
    public void TheEmptyPromptIsTheUnconditionalBranch()
    {
        // Guidance 0 keeps only the unconditional prediction; so does any scale when the prompt is "" (both halves agree).
        using var scope = NewDisposeScope();
        TextToImagePipeline pipeline = Pipeline();
        Tensor unconditional = pipeline.Generate("a red tulip", count: 2, inferenceSteps: 3, guidanceScale: 0, seed: 9);
        Tensor empty = pipeline.Generate(string.Empty, count: 2, inferenceSteps: 3, guidanceScale: 1, seed: 9);
        Tensor emptyGuided = pipeline.Generate(string.Empty, count: 2, inferenceSteps: 3, guidanceScale: 6, seed: 9);
        Assert.True(unconditional.allclose(empty, rtol: 0, atol: Tolerance));
        Assert.True(emptyGuided.allclose(empty, rtol: 0, atol: Tolerance));
    }

    [Fact]
    public void TheNegativePromptReplacesTheUnconditionalText()
    {
        using var scope = NewDisposeScope();
        TextToImagePipeline pipeline = Pipeline();
        Tensor plain = pipeline.Generate("a red tulip", 2, inferenceSteps: 3, guidanceScale: 4, seed: 2);
        Tensor emptyNegative = pipeline.Generate("a red tulip", 2, inferenceSteps: 3, guidanceScale: 4, seed: 2, negativePrompt: string.Empty);
        Tensor negative = pipeline.Generate("a red tulip", 2, inferenceSteps: 3, guidanceScale: 4, seed: 2, negativePrompt: "a white lily");
        Assert.True(ConditionalTestModels.Same(plain, emptyNegative));
        Assert.False(plain.allclose(negative, rtol: 0, atol: 1e-3), "the negative prompt has no effect");

        // At s = 0 only the negative prompt's branch is left: the same as drawing the negative prompt without guidance.
        Tensor onlyNegative = pipeline.Generate("a red tulip", 2, inferenceSteps: 3, guidanceScale: 0, seed: 2, negativePrompt: "a white lily");
        Tensor lily = pipeline.Generate("a white lily", 2, inferenceSteps: 3, guidanceScale: 1, seed: 2);
        Assert.True(onlyNegative.allclose(lily, rtol: 0, atol: Tolerance));
    }

    [Fact]
    public void ClassLabelsConditionWithTextOrAlone()
    {
        using var scope = NewDisposeScope();
        TextToImagePipeline withText = Pipeline(numClasses: 4);
        Tensor zero = withText.Generate(["a red tulip"], 2, inferenceSteps: 3, guidanceScale: 3, seed: 4, classLabels: [0]);
        Tensor one = withText.Generate(["a red tulip"], 2, inferenceSteps: 3, guidanceScale: 3, seed: 4, classLabels: [1]);
        Assert.False(zero.allclose(one, rtol: 0, atol: 1e-3), "the class label has no effect");
        Assert.Equal("classLabels must hold one label per prompt (1); got 2. (Parameter 'classLabels')",
            Assert.Throws<ArgumentException>(() => withText.Generate(["a red tulip"], 1, 2, classLabels: [0, 1])).Message);
        Assert.Equal("classLabels[0] must lie in [0, 4] (4 = no class); got 5. (Parameter 'classLabels')",
            Assert.Throws<ArgumentException>(() => withText.GenerateForClasses([5], 1, 2)).Message);

        var classOnly = new TextToImagePipeline(ConditionalTestModels.UNet(numClasses: 4, contextDim: null), null, new DdimScheduler());
        Tensor images = classOnly.GenerateForClasses([0, 3], imagesPerClass: 2, inferenceSteps: 3, seed: 1);
        Assert.Equal(new long[] { 4, 3, 8, 8 }, images.shape);
        Assert.True(ConditionalTestModels.Same(images, classOnly.GenerateForClasses([0, 3], 2, 3, seed: 1)));
        Assert.False(images[0].allclose(images[2], rtol: 0, atol: 1e-3));
        Assert.Throws<InvalidOperationException>(() => classOnly.Generate("a red tulip", 1));
    }

    [Fact]
    public void AnySchedulerBatchingProgressAndCancellation()
    {
        using var scope = NewDisposeScope();
        foreach (INoiseScheduler scheduler in new INoiseScheduler[] { new DdpmScheduler(), new EulerDiscreteScheduler(), new DpmSolverMultistepScheduler() })
        {
            Tensor images = Pipeline(scheduler: scheduler).Generate("a pink rose", 1, inferenceSteps: 3, seed: 1);
            Assert.True(images.isfinite().all().item<bool>(), $"{scheduler.GetType().Name} gave non-finite images");
        }

        TextToImagePipeline pipeline = Pipeline();
        var reports = new List<SamplingProgress>();
        Tensor batched = pipeline.Generate(["a red tulip", "a blue aster"], 2, inferenceSteps: 2, seed: 1, batchSize: 3,
            progress: new SynchronousProgress<SamplingProgress>(reports.Add));
        Assert.Equal(new long[] { 4, 3, 8, 8 }, batched.shape);
        Assert.Equal(4, reports.Count); // 2 batches × 2 steps
        Assert.Equal((2, 2, 1, 2), (reports[^1].Step, reports[^1].TotalSteps, reports[^1].Batch, reports[^1].Batches));

        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.Throws<OperationCanceledException>(() => pipeline.Generate("a red tulip", 1, 2, cancellationToken: cancel.Token));
    }

    [Fact]
    public void InvalidArgumentsAreRefused()
    {
        TextToImagePipeline pipeline = Pipeline();
        Assert.Equal("guidanceScale must be finite; got NaN. (Parameter 'guidanceScale')\nActual value was NaN.",
            Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Generate("a", 1, 2, double.NaN)).Message);
        Assert.StartsWith("count must be at least 1; got 0.", Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Generate("a", 0)).Message, StringComparison.Ordinal);
        Assert.StartsWith("inferenceSteps must lie in [1, 1000] (the scheduler's training steps); got 1001.",
            Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Generate("a", 1, 1001)).Message, StringComparison.Ordinal);
        Assert.Equal("prompts must hold at least one prompt; got none. (Parameter 'prompts')",
            Assert.Throws<ArgumentException>(() => pipeline.Generate(Array.Empty<string>(), 1)).Message);
        Assert.Equal("prompts[1] is null. (Parameter 'prompts')",
            Assert.Throws<ArgumentException>(() => pipeline.Generate(["a", null!], 1)).Message);
        Assert.Equal("classLabels must be null: the U-Net has no class embedding (NumClasses is null). (Parameter 'classLabels')",
            Assert.Throws<ArgumentException>(() => pipeline.Generate(["a"], 1, 2, classLabels: [0])).Message);

        ConditionalUNet unet = pipeline.UNet;
        Assert.Equal("textEncoder.EmbeddingDim must equal the U-Net's ContextDim (8); got 6. (Parameter 'textEncoder')",
            Assert.Throws<ArgumentException>(() => new TextToImagePipeline(unet, new HashTextEncoder(4, 6), new DdimScheduler())).Message);
        Assert.StartsWith("textEncoder is required",
            Assert.Throws<ArgumentException>(() => new TextToImagePipeline(unet, null, new DdimScheduler())).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SamplingLeavesNoLiveTensorsBehind()
    {
        TextToImagePipeline pipeline = Pipeline();
        pipeline.Generate("a red tulip", 1, 3).Dispose();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++)
        {
            pipeline.Generate(["a red tulip", "a white lily"], 1, 3, guidanceScale: 2, seed: i, negativePrompt: "a blue aster").Dispose();
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
