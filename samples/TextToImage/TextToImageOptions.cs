using System.Globalization;

namespace Diffusion.Samples.TextToImage;

/// <summary>The TextToImage sample's command line, parsed and checked.</summary>
public sealed record TextToImageOptions
{
    /// <summary>Usage text.</summary>
    public const string Usage = """
        Trains a small text-conditioned U-Net on captioned procedural flowers ("a red tulip"), conditioned on a small
        CLIP text encoder, then draws a grid (one row per prompt) and measures how well the images follow their
        prompts with that CLIP (zero-shot species x colour accuracy and mean similarity) at several guidance scales.
        Runs resume: the CLIP in <output>/clip and the newest checkpoint in <output>/checkpoints are reused.

        Options:
          --minutes M         U-Net training time for this run (default 10)
          --steps N           train the U-Net until N total steps instead of by time
          --clip DIR          use this CLIP folder (e.g. from samples/ClipZeroShot) instead of training one
          --clip-minutes M    training time of the CLIP when there is none yet (default 2)
          --image-size S      image side, a multiple of 4, 8-64 (default 16)
          --model-dims A,B,.. U-Net widths, multiples of 8 (default 32,64,128,256)
          --batch-size B      images per U-Net batch (default 32)
          --lr X              U-Net learning rate (default 0.001)
          --dropout P         condition dropout (default 0.1)
          --dataset-size N    procedural flowers to draw (default 8192)
          --guidance S        guidance scale of the grid and the evaluation (default 2)
          --eval-count N      images per prompt in the evaluation, over all 37 captions (default 8; 0 skips it)
          --eval-guidance L   guidance scales to evaluate, comma-separated (default 0,1 and --guidance)
          --sampling-steps N  DDIM steps of the grid (default 50)
          --eval-steps N      DDIM steps of the evaluation (default 25)
          --thresholding      sample with dynamic thresholding (Imagen) instead of clipping x0 to [-1, 1]
          --grid-scale N      enlarge the grid's pixels N times (default 4)
          --threads N         torch threads (default: all cores)
          --output DIR        where everything goes (default output/text-to-image)
          --seed N            (default 0)
          --help
        """;

    /// <summary>U-Net training time for this run, in minutes.</summary>
    public double Minutes { get; init; } = 10;

    /// <summary>Stop after this many total U-Net steps instead; null: time decides.</summary>
    public long? Steps { get; init; }

    /// <summary>A CLIP folder to load instead of training one.</summary>
    public string? Clip { get; init; }

    /// <summary>CLIP training time when there is no CLIP yet, in minutes.</summary>
    public double ClipMinutes { get; init; } = 2;

    /// <summary>Image side in pixels.</summary>
    public int ImageSize { get; init; } = 16;

    /// <summary>U-Net channel widths per level.</summary>
    public IReadOnlyList<int> ModelDims { get; init; } = [32, 64, 128, 256];

    /// <summary>Images per U-Net batch.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>U-Net learning rate (constant after a warm-up).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Probability of training an item unconditionally.</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary>Procedural flowers in the training set.</summary>
    public int DatasetSize { get; init; } = 8192;

    /// <summary>Guidance scale of the grid and the evaluation.</summary>
    public double Guidance { get; init; } = Diffusion.Pipelines.TextToImagePipeline.DefaultGuidanceScale;

    /// <summary>Images per caption in the evaluation; 0 skips it.</summary>
    public int EvalCount { get; init; } = 8;

    /// <summary>Guidance scales to evaluate; null: 0, 1 and <see cref="Guidance"/>.</summary>
    public IReadOnlyList<double>? EvalGuidance { get; init; }

    /// <summary>DDIM steps of the grid.</summary>
    public int SamplingSteps { get; init; } = 50;

    /// <summary>DDIM steps of the evaluation.</summary>
    public int EvalSteps { get; init; } = 25;

    /// <summary>Sample with dynamic thresholding instead of clipping.</summary>
    public bool Thresholding { get; init; }

    /// <summary>Pixel enlargement of the grid pictures.</summary>
    public int GridScale { get; init; } = 4;

    /// <summary>Torch threads.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Output folder.</summary>
    public string Output { get; init; } = Path.Combine("output", "text-to-image");

    /// <summary>Seed of training and sampling.</summary>
    public long Seed { get; init; }

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> naming the bad flag and value.</summary>
    /// <param name="args">The command line.</param>
    /// <returns>The options, or null when --help was asked for.</returns>
    public static TextToImageOptions? Parse(IReadOnlyList<string> args)
    {
        var o = new TextToImageOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string flag = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{flag} needs a value.");
            o = flag switch
            {
                "--minutes" => o with { Minutes = Number(flag, Value(), 0.01, 10_000) },
                "--steps" => o with { Steps = (long)Number(flag, Value(), 1, 1e9) },
                "--clip" => o with { Clip = Value() },
                "--clip-minutes" => o with { ClipMinutes = Number(flag, Value(), 0.05, 1000) },
                "--image-size" => o with { ImageSize = (int)Number(flag, Value(), 8, 64) },
                "--model-dims" => o with { ModelDims = Dims(flag, Value()) },
                "--batch-size" => o with { BatchSize = (int)Number(flag, Value(), 1, 4096) },
                "--lr" => o with { LearningRate = Number(flag, Value(), 1e-7, 1) },
                "--dropout" => o with { Dropout = Number(flag, Value(), 0, 1) },
                "--dataset-size" => o with { DatasetSize = (int)Number(flag, Value(), 64, 1_000_000) },
                "--guidance" => o with { Guidance = Number(flag, Value(), 0, 100) },
                "--eval-count" => o with { EvalCount = (int)Number(flag, Value(), 0, 1000) },
                "--eval-guidance" => o with { EvalGuidance = [.. Value().Split(',').Select(v => Number(flag, v.Trim(), 0, 100))] },
                "--sampling-steps" => o with { SamplingSteps = (int)Number(flag, Value(), 1, 1000) },
                "--eval-steps" => o with { EvalSteps = (int)Number(flag, Value(), 1, 1000) },
                "--thresholding" => o with { Thresholding = true },
                "--grid-scale" => o with { GridScale = (int)Number(flag, Value(), 1, 16) },
                "--threads" => o with { Threads = (int)Number(flag, Value(), 1, 1024) },
                "--output" => o with { Output = Value() },
                "--seed" => o with { Seed = (long)Number(flag, Value(), 0, int.MaxValue) },
                "--help" or "-h" => null,
                _ => throw new ArgumentException($"unknown option {flag}."),
            };
            if (o is null)
            {
                return null;
            }
        }

        if (o.ImageSize % 4 != 0 || o.ImageSize % (1 << (o.ModelDims.Count - 2)) != 0)
        {
            throw new ArgumentException(
                $"--image-size must be a multiple of 4 (CLIP's patches) and of 2^(levels - 2) = {1 << (o.ModelDims.Count - 2)}; got {o.ImageSize}.");
        }

        return o;
    }

    private static double Number(string flag, string text, double min, double max)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < min || value > max)
        {
            throw new ArgumentException($"{flag} must be a number in [{min}, {max}]; got '{text}'.");
        }

        return value;
    }

    private static int[] Dims(string flag, string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        int[] dims = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out dims[i]) || dims[i] < 8 || dims[i] % 8 != 0)
            {
                throw new ArgumentException($"{flag} must be 2 to 6 comma-separated multiples of 8; got '{text}'.");
            }
        }

        return dims.Length is >= 2 and <= 6 ? dims : throw new ArgumentException($"{flag} must have 2 to 6 widths; got '{text}'.");
    }
}
