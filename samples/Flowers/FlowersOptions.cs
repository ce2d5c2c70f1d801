using System.Globalization;

namespace Diffusion.Samples.Flowers;

/// <summary>The Flowers sample's command line, parsed and checked.</summary>
public sealed record FlowersOptions
{
    /// <summary>Training time for this run, in minutes.</summary>
    public double Minutes { get; init; } = 10;

    /// <summary>Stop after this many total steps instead (resumed steps included); null: time decides.</summary>
    public long? Steps { get; init; }

    /// <summary>Image side in pixels (a multiple of 8).</summary>
    public int ImageSize { get; init; } = 32;

    /// <summary>U-Net channel widths per level.</summary>
    public IReadOnlyList<int> ModelDims { get; init; } = [32, 64, 128, 256];

    /// <summary>Images per batch.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Peak learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Images in the procedural set.</summary>
    public int DatasetSize { get; init; } = 4096;

    /// <summary>A folder of images or a parquet file to train on instead of procedural flowers.</summary>
    public string? Data { get; init; }

    /// <summary>Where checkpoints and pictures go.</summary>
    public string Output { get; init; } = Path.Combine("output", "flowers");

    /// <summary>"cpu" or "cuda".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Images in samples.png.</summary>
    public int Samples { get; init; } = 16;

    /// <summary>Seed of training and sampling.</summary>
    public long Seed { get; init; }

    /// <summary>Start from the committed starting checkpoint when the output folder has none.</summary>
    public bool UseStartingCheckpoint { get; init; } = true;

    /// <summary>Usage text.</summary>
    public const string Usage = """
        Trains a small U-Net on flowers, then writes samples.png, forward-diffusion.png and loss.png.
        Runs resume from the last checkpoint in <output>/checkpoints, so repeated runs keep improving.

        Options:
          --minutes M        training time for this run (default 10)
          --steps N          train until N total steps instead of by time
          --image-size S     image side, a multiple of 8, 16-128 (default 32)
          --model-dims A,B,C,D  U-Net widths, multiples of 8 (default 32,64,128,256)
          --batch-size B     images per batch (default 32)
          --lr X             peak learning rate (default 0.001)
          --dataset-size N   procedural flowers to draw (default 4096)
          --data PATH        train on a folder of images or a .parquet file instead
          --output DIR       checkpoints and pictures (default output/flowers)
          --device cpu|cuda  (default cpu)
          --samples N        images in samples.png (default 16)
          --seed N           (default 0)
          --fresh            do not start from the committed starting checkpoint
          --help
        """;

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> naming the bad flag and value.</summary>
    /// <param name="args">The command line.</param>
    /// <returns>The options, or null when --help was asked for.</returns>
    public static FlowersOptions? Parse(IReadOnlyList<string> args)
    {
        var options = new FlowersOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string flag = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{flag} needs a value.");
            options = flag switch
            {
                "--help" or "-h" => null,
                "--minutes" => options with { Minutes = Number(flag, Value(), 0.05, 24 * 60) },
                "--steps" => options with { Steps = (long)Number(flag, Value(), 1, 1e9, integer: true) },
                "--image-size" => options with { ImageSize = ImageSide(flag, Value()) },
                "--model-dims" => options with { ModelDims = Dims(flag, Value()) },
                "--batch-size" => options with { BatchSize = (int)Number(flag, Value(), 1, 4096, integer: true) },
                "--lr" => options with { LearningRate = Number(flag, Value(), 1e-7, 1) },
                "--dataset-size" => options with { DatasetSize = (int)Number(flag, Value(), 1, 10_000_000, integer: true) },
                "--data" => options with { Data = ExistingPath(flag, Value()) },
                "--output" => options with { Output = Value() },
                "--device" => options with { Device = DeviceName(flag, Value()) },
                "--samples" => options with { Samples = (int)Number(flag, Value(), 1, 256, integer: true) },
                "--seed" => options with { Seed = (long)Number(flag, Value(), 0, int.MaxValue, integer: true) },
                "--fresh" => options with { UseStartingCheckpoint = false },
                _ => throw new ArgumentException($"unknown option '{flag}'. Run with --help for the list."),
            };
            if (options is null)
            {
                return null;
            }
        }

        if (options.Data is null && options.DatasetSize < options.BatchSize)
        {
            throw new ArgumentException($"--dataset-size ({options.DatasetSize}) must be at least --batch-size ({options.BatchSize}).");
        }

        return options;
    }

    private static double Number(string flag, string text, double min, double max, bool integer = false)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
        {
            throw new ArgumentException($"{flag} expects a number; got '{text}'.");
        }

        if (integer && value != Math.Floor(value))
        {
            throw new ArgumentException($"{flag} expects a whole number; got '{text}'.");
        }

        return value < min || value > max ? throw new ArgumentException($"{flag} must be between {min} and {max}; got {text}.") : value;
    }

    private static int ImageSide(string flag, string text)
    {
        int size = (int)Number(flag, text, 16, 128, integer: true);
        return size % 8 == 0 ? size : throw new ArgumentException($"{flag} must be a multiple of 8; got {size}.");
    }

    private static IReadOnlyList<int> Dims(string flag, string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length < 2)
        {
            throw new ArgumentException($"{flag} expects at least two comma-separated widths such as 32,64,128,256; got '{text}'.");
        }

        return [.. parts.Select(p =>
        {
            int d = (int)Number(flag, p, 8, 2048, integer: true);
            return d % 8 == 0 ? d : throw new ArgumentException($"{flag} widths must be multiples of 8 (GroupNorm uses 8 groups); got {d}.");
        })];
    }

    private static string ExistingPath(string flag, string text) =>
        File.Exists(text) || Directory.Exists(text) ? text : throw new ArgumentException($"{flag}: no file or folder at '{text}'.");

    private static string DeviceName(string flag, string text) =>
        text is "cpu" or "cuda" ? text : throw new ArgumentException($"{flag} must be 'cpu' or 'cuda'; got '{text}'.");
}
