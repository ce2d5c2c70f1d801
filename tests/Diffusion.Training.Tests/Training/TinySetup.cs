using Diffusion.Data;
using Diffusion.Models;
using Diffusion.Schedulers;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Training;

/// <summary>The small model and data the trainer tests share: seconds on one CPU thread.</summary>
internal static class TinySetup
{
    public const int ImageSize = 16;

    public static UNet Model(long seed = 0)
    {
        manual_seed(seed);
        return new UNet(new UNetOptions { HiddenDims = [16, 32, 32], ImageSize = ImageSize });
    }

    public static DdimScheduler Scheduler() => new(DdimSchedulerOptions.Book);

    public static ProceduralFlowers Flowers(int count = 32) => new(count, ImageSize, 7);

    public static TrainerOptions Options(string? checkpoints = null) => new()
    {
        BatchSize = 4,
        LearningRate = 2e-3,
        WarmupSteps = 2,
        LoaderWorkers = 2,
        CheckpointDirectory = checkpoints,
        CheckpointEverySteps = 3,
        LogEverySteps = 1000,
    };

    /// <summary>All tensors of a checkpoint file, for bitwise comparison.</summary>
    public static Dictionary<string, Tensor> ReadAll(string path) => Diffusion.IO.SafeTensors.Load(path);

    public static void AssertSameTensors(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach ((string name, Tensor e) in expected)
        {
            Assert.True(e.eq(actual[name]).all().item<bool>(), $"tensor '{name}' differs");
        }
    }
}

/// <summary>Wraps a dataset and replaces one item's pixels with NaN.</summary>
internal sealed class PoisonedDataset(IImageDataset inner, int poisonedIndex) : IImageDataset
{
    public int Count => inner.Count;

    public int ImageSize => inner.ImageSize;

    public IReadOnlyList<string> LabelNames => inner.LabelNames;

    public ImageItem GetItem(int index)
    {
        ImageItem item = inner.GetItem(index);
        if (index == poisonedIndex)
        {
            item.Image.fill_(float.NaN);
        }

        return item;
    }
}
