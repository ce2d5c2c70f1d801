using Diffusion.Data;
using Diffusion.Models;
using Diffusion.Schedulers;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Support;

/// <summary>The small models, data and options the reliability tests share: each run takes seconds on one CPU thread.</summary>
internal static class Tiny
{
    public const int ImageSize = 16;

    /// <summary>The book's U-Net at [16, 32, 32] on 16×16 images, seeded.</summary>
    // Module initialisation draws from libtorch's global generator (as PyTorch's does): seeding and building must
    // not interleave with another thread's draws, or "seeded" weights differ. Test classes run one at a time
    // (AssemblyInfo.cs); the lock still covers tests that build models on several threads.
    private static readonly Lock GlobalGenerator = new();

    public static UNet UNet(long seed = 0)
    {
        lock (GlobalGenerator)
        {
            manual_seed(seed);
            return new UNet(new UNetOptions { HiddenDims = [16, 32, 32], ImageSize = ImageSize });
        }
    }

    public static DdimScheduler Scheduler() => new(DdimSchedulerOptions.Book);

    public static ProceduralFlowers Flowers(int count = 16, int imageSize = ImageSize) => new(count, imageSize, 7);

    public static TrainerOptions Options(string? checkpoints = null) => new()
    {
        BatchSize = 4,
        LearningRate = 2e-3,
        WarmupSteps = 2,
        LoaderWorkers = 2,
        CheckpointDirectory = checkpoints,
        CheckpointEverySteps = 1,
        KeepCheckpoints = 2,
        LogEverySteps = 1000,
    };

    /// <summary>A trainer for a 1×1 convolution (12 parameters): checkpoints of a few kilobytes, for fuzzing.</summary>
    public static Trainer ConvTrainer(nn.Module<Tensor, Tensor> conv, TrainerOptions options) =>
        new(conv, (sample, _, _) => conv.call(sample), Scheduler(), options);

    /// <summary>A CLIP of two 32-wide layers per side on 32×32 images, with a tokenizer for flower captions.</summary>
    public static Diffusion.Clip.ClipModel Clip(long seed = 0)
    {
        var tokenizer = Diffusion.Clip.ClipTokenizer.FromCorpus(Diffusion.Data.ProceduralFlowers.ClassNames.Select(c => "a photo of a " + c), contextLength: 16);
        lock (GlobalGenerator)
        {
            manual_seed(seed);
            return new Diffusion.Clip.ClipModel(Diffusion.Clip.ClipConfig.Tiny(tokenizer.VocabularySize, imageSize: 32, contextLength: 16), tokenizer);
        }
    }

    public static nn.Module<Tensor, Tensor> Conv(long seed = 0)
    {
        lock (GlobalGenerator)
        {
            manual_seed(seed);
            return nn.Conv2d(3, 3, 1);
        }
    }

    /// <summary>All tensors of a safetensors file.</summary>
    public static Dictionary<string, Tensor> ReadAll(string path) => Diffusion.IO.SafeTensors.Load(path);

    public static void AssertSameTensors(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach ((string name, Tensor e) in expected)
        {
            Assert.True(e.dtype == actual[name].dtype && e.shape.SequenceEqual(actual[name].shape) && e.eq(actual[name]).all().item<bool>(), $"tensor '{name}' differs");
        }
    }

    public static void AssertSameWeights(nn.Module expected, nn.Module actual)
    {
        Dictionary<string, Tensor> a = expected.state_dict();
        Dictionary<string, Tensor> b = actual.state_dict();
        AssertSameTensors(a, b);
    }
}
