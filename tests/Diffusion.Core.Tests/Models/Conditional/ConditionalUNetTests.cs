using Diffusion.IO;
using Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models.Conditional;

public sealed class ConditionalUNetTests
{
    private static Tensor Sample(int n = 2, long seed = 1) => randn([n, 3, 8, 8], generator: new Generator((ulong)seed));

    private static Tensor Context(int n = 2, long seed = 2) => randn([n, 5, ConditionalTestModels.ContextDim], generator: new Generator((ulong)seed));

    [Fact]
    public void ShapesWithAndWithoutContextAndLabels()
    {
        using var scope = NewDisposeScope();
        using var unet = ConditionalTestModels.UNet(numClasses: 3);
        Tensor t = tensor(new long[] { 10, 900 });
        Assert.Equal(new long[] { 2, 3, 8, 8 }, unet.call(Sample(), t, Context(), tensor(new long[] { 0, 2 })).shape);
        Assert.Equal(new long[] { 2, 3, 8, 8 }, unet.call(Sample(), t, null, null).shape);
        Assert.Equal(new long[] { 2, 3, 8, 8 }, unet.call(Sample(), tensor(5L), Context(1), tensor(1L)).shape);
        Assert.Equal(new long[] { 2, 3, 16, 16 }, unet.call(randn(2, 3, 16, 16), t, Context(), null).shape); // any multiple of SizeMultiple
    }

    [Fact]
    public void FreshNetworkIsTheBooksUNetAndLoadsItsWeights()
    {
        // The conditioning paths start at zero, so with the book's weights copied in, the outputs equal the book U-Net's
        // whatever the context and label; the book's keys are a prefix-preserving subset of ours with the same shapes.
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var book = new UNet(ConditionalTestModels.Options().UNet);
        manual_seed(4);
        using var conditional = new ConditionalUNet(ConditionalTestModels.Options(numClasses: 3));
        Dictionary<string, Tensor> ours = conditional.state_dict();
        Dictionary<string, Tensor> theirs = book.state_dict();
        foreach ((string key, Tensor value) in theirs)
        {
            Assert.True(ours.TryGetValue(key, out Tensor? mine), $"missing book key {key}");
            Assert.Equal(value.shape, mine!.shape);
        }

        Assert.All(ours.Keys.Except(theirs.Keys), key => Assert.True(key.Contains("cross_attn.", StringComparison.Ordinal) || key == "class_embedding.weight", key));
        Assert.Equal(theirs.Keys.ToArray(), ours.Keys.Where(theirs.ContainsKey).ToArray()); // same order
        using var dir = TestEnvironment.CreateTempDirectory();
        string path = Path.Combine(dir.Path, "book.safetensors");
        book.SaveSafeTensors(path);
        SafeTensorsLoadResult loaded = conditional.LoadSafeTensors(path, strict: false);
        Assert.Empty(loaded.UnexpectedKeys);
        Assert.Equal(ours.Keys.Except(theirs.Keys).Order(StringComparer.Ordinal), loaded.MissingKeys.Order(StringComparer.Ordinal));

        Tensor x = Sample();
        Tensor t = tensor(new long[] { 3, 700 });
        Tensor expected = book.call(x, t);
        Assert.True(expected.allclose(conditional.call(x, t, Context(), tensor(new long[] { 1, 2 })), rtol: 0, atol: 1e-6));
        Assert.True(expected.allclose(conditional.call(x, t, null, null), rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void ContextSteersThePredictionAndOneRowServesTheBatch()
    {
        using var scope = NewDisposeScope();
        using var unet = ConditionalTestModels.UNet();
        Tensor x = Sample();
        Tensor t = tensor(new long[] { 100, 100 });
        Tensor a = unet.call(x, t, Context(seed: 5), null);
        Tensor b = unet.call(x, t, Context(seed: 6), null);
        Assert.False(a.allclose(b, rtol: 0, atol: 1e-4), "a different context gave the same prediction");
        Assert.True(ConditionalTestModels.Same(a, unet.call(x, t, Context(seed: 5), null)), "the same inputs gave a different prediction");

        Tensor one = Context(1, seed: 7);
        Assert.True(unet.call(x, t, one, null).allclose(unet.call(x, t, one.expand(2, -1, -1), null), rtol: 0, atol: 1e-6));
        // Any sequence length works: the keys are the context's tokens.
        Assert.Equal(new long[] { 2, 3, 8, 8 }, unet.call(x, t, randn(2, 11, ConditionalTestModels.ContextDim), null).shape);
    }

    [Fact]
    public void ClassLabelsSteerThePredictionAndNullMeansNoClass()
    {
        using var scope = NewDisposeScope();
        using var unet = ConditionalTestModels.UNet(numClasses: 3, contextDim: null);
        Assert.False(unet.Options.HasCrossAttention);
        Assert.Equal(3, unet.Options.NullClassLabel);
        Tensor x = Sample();
        Tensor t = tensor(new long[] { 400, 400 });
        Tensor zero = unet.call(x, t, null, tensor(new long[] { 0, 0 }));
        Tensor one = unet.call(x, t, null, tensor(new long[] { 1, 1 }));
        Assert.False(zero.allclose(one, rtol: 0, atol: 1e-4), "class labels have no effect");
        Assert.True(ConditionalTestModels.Same(unet.call(x, t, null, null), unet.call(x, t, null, tensor(new long[] { 3, 3 }))), "null is not the no-class label");
        Assert.True(ConditionalTestModels.Same(unet.call(x, t, null, tensor(new int[] { 1, 1 })), one), "int32 labels differ from int64");
        Assert.DoesNotContain(unet.state_dict().Keys, k => k.Contains("cross_attn", StringComparison.Ordinal));
    }

    [Fact]
    public void InvalidInputsAreRefusedWithClearMessages()
    {
        using var scope = NewDisposeScope();
        using var unet = ConditionalTestModels.UNet(numClasses: 3);
        Tensor x = Sample();
        Tensor t = tensor(new long[] { 1, 2 });
        Assert.Equal("context must be [2,L,8] (or [1,L,8] for the whole batch) with L >= 1; got [2,5,4]. (Parameter 'context')",
            Assert.Throws<ArgumentException>(() => unet.call(x, t, randn(2, 5, 4), null)).Message);
        Assert.Equal("context must be [2,L,8] (or [1,L,8] for the whole batch) with L >= 1; got [3,5,8]. (Parameter 'context')",
            Assert.Throws<ArgumentException>(() => unet.call(x, t, Context(3), null)).Message);
        Assert.Equal("context must be a floating tensor (text embeddings); got Int64. (Parameter 'context')",
            Assert.Throws<ArgumentException>(() => unet.call(x, t, zeros([2, 5, 8], dtype: int64), null)).Message);
        Assert.Equal("classLabels must lie in [0, 3] (3 = no class); got values from 0 to 4. (Parameter 'classLabels')",
            Assert.Throws<ArgumentException>(() => unet.call(x, t, null, tensor(new long[] { 0, 4 }))).Message);
        Assert.Equal("classLabels must be an integer tensor; got Float32. (Parameter 'classLabels')",
            Assert.Throws<ArgumentException>(() => unet.call(x, t, null, tensor(new float[] { 0, 1 }))).Message);
        Assert.Equal("classLabels must be a single value or a vector [2] (one per sample); got [3]. (Parameter 'classLabels')",
            Assert.Throws<ArgumentException>(() => unet.call(x, t, null, tensor(new long[] { 0, 1, 2 }))).Message);
        Assert.Equal("sample must be [N,3,H,W] with N >= 1; got [2,1,8,8]. (Parameter 'sample')",
            Assert.Throws<ArgumentException>(() => unet.call(randn(2, 1, 8, 8), t, null, null)).Message);
        Assert.Equal("sample height and width must be positive multiples of 2 (the U-Net halves them 1 times); got [2,3,7,7]. (Parameter 'sample')",
            Assert.Throws<ArgumentException>(() => unet.call(randn(2, 3, 7, 7), t, null, null)).Message);

        using var plain = ConditionalTestModels.UNet(contextDim: null);
        Assert.StartsWith("context must be null: this network has no cross-attention",
            Assert.Throws<ArgumentException>(() => plain.call(x, t, Context(), null)).Message, StringComparison.Ordinal);
        Assert.StartsWith("classLabels must be null: this network has no class embedding",
            Assert.Throws<ArgumentException>(() => plain.call(x, t, null, tensor(new long[] { 0, 0 }))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CrossAttentionSitsWhereTheOptionsSay()
    {
        using var scope = NewDisposeScope();
        using var unet = new ConditionalUNet(ConditionalTestModels.Options() with
        {
            UNet = new UNetOptions { HiddenDims = [16, 32, 32, 32], ImageSize = 8 },
            CrossAttentionLevels = new CrossAttentionLevels { DownLevels = [2], Middle = false, UpLevels = [0, 2] },
        });
        string[] sites = [.. unet.state_dict().Keys.Where(k => k.EndsWith("cross_attn.to_q.weight", StringComparison.Ordinal))];
        Assert.Equal(["down_blocks.2.cross_attn.to_q.weight", "up_blocks.0.cross_attn.to_q.weight", "up_blocks.2.cross_attn.to_q.weight"], sites);
        Assert.Equal(new long[] { 16, 32 }, unet.state_dict()["up_blocks.0.cross_attn.to_q.weight"].shape);  // innermost up level: width 32, 2 heads × 8
        Assert.Equal(new long[] { 16, 8 }, unet.state_dict()["up_blocks.2.cross_attn.to_k.weight"].shape);   // keys from the 8-wide context

        using var middle = new ConditionalUNet(ConditionalTestModels.Options() with { CrossAttentionLevels = CrossAttentionLevels.MiddleOnly });
        Assert.Equal(["mid_cross_attn.to_q.weight"], middle.state_dict().Keys.Where(k => k.EndsWith("to_q.weight", StringComparison.Ordinal) && k.Contains("cross", StringComparison.Ordinal)));
    }

    [Fact]
    public void GradientsReachTheCrossAttentionAfterItsOutputOpens()
    {
        // to_out starts at zero: its own gradient is not zero, so one optimizer step opens the path for q, k, v.
        using var scope = NewDisposeScope();
        manual_seed(8);
        using var unet = new ConditionalUNet(ConditionalTestModels.Options());
        Tensor loss = unet.call(Sample(), tensor(new long[] { 5, 50 }), Context(), null).square().mean();
        loss.backward();
        Dictionary<string, TorchSharp.Modules.Parameter> p = unet.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        Assert.True(p["mid_cross_attn.to_out.weight"].grad!.abs().sum().item<float>() > 0);
        Assert.Equal(0f, p["mid_cross_attn.to_q.weight"].grad!.abs().sum().item<float>());
    }
}
