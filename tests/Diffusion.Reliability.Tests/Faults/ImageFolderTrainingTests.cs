using Diffusion.Data;
using Diffusion.Tests.Support;
using Diffusion.Training;
using Microsoft.Extensions.Logging;
using SkiaSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Faults;

/// <summary>
/// A folder of real-world mess, end to end through the <see cref="DataLoader"/> and <see cref="Trainer.Fit"/>:
/// odd but valid images (CMYK, grey, grey + alpha, transparent RGBA, odd sizes) train; broken ones (empty,
/// text with an image name, truncated, huge declared size) stop training with an
/// <see cref="InvalidDataException"/> naming the file, or are skipped and logged once each, as
/// <see cref="TrainerOptions.OnDataError"/> says; other files are ignored. (Decoding each kind is tested
/// file by file in Diffusion.Training.Tests.)
/// </summary>
public sealed class ImageFolderTrainingTests
{
    private static readonly string[] Broken = ["b-empty.png", "d-text.jpg", "f-truncated.png", "h-huge.png"];

    [Fact]
    public void TheLoaderSkipsAndLogsEachBrokenFileOnceAndKeepsTheOddOnes()
    {
        using TempDirectory folder = MessyFolder();
        var logs = new CapturingLoggerFactory();
        var dataset = ImageFolderDataset.Open(folder.Path, Tiny.ImageSize);
        Assert.Equal(14, dataset.Count); // 10 good + 4 broken; notes.txt, data.bin and the hidden file are not images
        using var loader = new DataLoader(dataset, new DataLoaderOptions { BatchSize = 7, Workers = 2, OnError = DataErrorHandling.SkipAndLog, LoggerFactory = logs });
        var seen = new HashSet<int>();
        for (int epoch = 0; epoch < 2; epoch++)
        {
            foreach (ImageBatch batch in loader.Epoch(epoch))
            {
                using (batch)
                {
                    Assert.Equal([7L, 3, Tiny.ImageSize, Tiny.ImageSize], batch.Images.shape);
                    Assert.True(batch.Images.isfinite().all().item<bool>());
                    seen.UnionWith(batch.Indices);
                }
            }
        }

        string[] readable = [.. seen.Select(i => dataset.Files[i]).Order(StringComparer.Ordinal)];
        Assert.Equal(["a-rgb.png", "c-cmyk.jpg", "e-grey.png", "g-grey-alpha.png", "i-transparent.png", "j-wide.png", "k-tall.jpg", "l-rgb.webp", "m-upper.JPEG", "n-rgb.png"], readable);
        string[] warnings = [.. logs.Messages.Where(m => m.Level == LogLevel.Warning).Select(m => m.Message)];
        Assert.Equal(4, warnings.Length); // once per file, not once per epoch
        foreach (string name in Broken)
        {
            Assert.Single(warnings, w => w.Contains(Path.Combine(folder.Path, name), StringComparison.Ordinal));
        }
    }

    [Fact]
    public void TrainingSkipsBrokenFilesWhenAskedAndLogsThem()
    {
        using TempDirectory folder = MessyFolder();
        using var scope = NewDisposeScope();
        var logs = new CapturingLoggerFactory();
        var unet = Tiny.UNet();
        TrainingResult result = new Trainer(unet, Tiny.Scheduler(), Tiny.Options() with { MaxSteps = 6, OnDataError = DataErrorHandling.SkipAndLog, LoggerFactory = logs })
            .Fit(ImageFolderDataset.Open(folder.Path, Tiny.ImageSize));

        Assert.Equal(6, result.Steps);
        Assert.All(result.Losses, l => Assert.True(float.IsFinite(l)));
        Assert.All(unet.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
        Assert.Equal(4, logs.Messages.Count(m => m.Level == LogLevel.Warning && Broken.Any(b => m.Message.Contains(b, StringComparison.Ordinal))));
    }

    [Fact]
    public void TrainingStopsAtTheFirstBrokenFileByDefaultAndKeepsTheCheckpoints()
    {
        using TempDirectory folder = MessyFolder();
        using TempDirectory checkpoints = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var dataset = ImageFolderDataset.Open(folder.Path, Tiny.ImageSize);
        // A seed whose first epoch reaches a broken file in its third batch or later: two steps and checkpoints come first.
        int seed = 0;
        int firstBroken;
        while (true)
        {
            using var order = new DataLoader(dataset, new DataLoaderOptions { BatchSize = 2, Seed = seed });
            firstBroken = order.Order(0).ToList().FindIndex(i => Broken.Contains(dataset.Files[i])) / 2;
            if (firstBroken >= 2)
            {
                break;
            }

            seed++;
        }

        var steps = new List<long>();
        var progress = new SynchronousProgress<TrainingProgress>(p => steps.Add(p.Step));
        var e = Assert.Throws<InvalidDataException>(() =>
            new Trainer(Tiny.UNet(), Tiny.Scheduler(), Tiny.Options(checkpoints.Path) with { MaxSteps = 20, BatchSize = 2, Seed = seed }).Fit(dataset, progress));

        Assert.Contains(Broken, name => e.Message.Contains(Path.Combine(folder.Path, name), StringComparison.Ordinal));
        Assert.Equal(firstBroken, steps.Count);
        string? latest = TrainingCheckpoint.FindLatest(checkpoints.Path);
        Assert.EndsWith($"checkpoint-{firstBroken:D8}.safetensors", latest, StringComparison.Ordinal);
        TrainingCheckpoint.LoadWeights(latest!, Tiny.UNet(seed: 3));

        Assert.Empty(Directory.EnumerateFiles(checkpoints.Path, "*.tmp", new EnumerationOptions { AttributesToSkip = 0 }));
    }

    private static TempDirectory MessyFolder()
    {
        TempDirectory folder = TestEnvironment.CreateTempDirectory();
        try
        {
            WriteMessyFolder(folder);
            return folder;
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    private static void WriteMessyFolder(TempDirectory folder)
    {
        void Write(string name, byte[] bytes) => File.WriteAllBytes(Path.Combine(folder.Path, name), bytes);
        byte[] png = ImageFiles.Pattern(24, 24, tint: 1);
        Write("a-rgb.png", png);
        Write("b-empty.png", []);
        Write("c-cmyk.jpg", Convert.FromBase64String(ImageFiles.CmykJpeg));
        Write("d-text.jpg", "a red tulip, not a picture"u8.ToArray());
        Write("e-grey.png", ImageFiles.Pattern(20, 20, tint: 2, colorType: SKColorType.Gray8));
        Write("f-truncated.png", png[..(png.Length / 2)]);
        Write("g-grey-alpha.png", Convert.FromBase64String(ImageFiles.GreyAlphaPng));
        Write("h-huge.png", ImageFiles.PngHeaderOnly(100_000, 100_000));
        Write("i-transparent.png", ImageFiles.Pattern(16, 16, tint: 3, alpha: 0));
        Write("j-wide.png", ImageFiles.Pattern(64, 17, tint: 4));
        Write("k-tall.jpg", ImageFiles.Pattern(9, 40, tint: 5, format: SKEncodedImageFormat.Jpeg));
        Write("l-rgb.webp", ImageFiles.Pattern(16, 16, tint: 6, format: SKEncodedImageFormat.Webp));
        Write("m-upper.JPEG", ImageFiles.Pattern(16, 16, tint: 7, format: SKEncodedImageFormat.Jpeg));
        Write("n-rgb.png", ImageFiles.Pattern(30, 30, tint: 8));
        Write("notes.txt", "not an image"u8.ToArray());
        Write("data.bin", [1, 2, 3]);
        Write(".hidden.png", [1, 2, 3]);
    }
}
