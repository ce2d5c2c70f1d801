using System.CommandLine;

namespace Diffusion.Samples.ClipZeroShot;

/// <summary>The ClipZeroShot sample's options, as parsed from its command line (<see cref="ClipZeroShotCommandLine"/>).</summary>
public sealed record ClipZeroShotOptions
{
    /// <summary>Training time, in minutes (the step count is fitted to it).</summary>
    public double Minutes { get; init; } = 3;

    /// <summary>Train exactly this many steps instead; null: <see cref="Minutes"/> decides.</summary>
    public long? Steps { get; init; }

    /// <summary>Caption-image pairs per batch.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Procedural flowers to train on.</summary>
    public int DatasetSize { get; init; } = 8192;

    /// <summary>Held-out flowers to classify (20 per caption by default).</summary>
    public int TestSize { get; init; } = 740;

    /// <summary>A CLIP folder to evaluate instead of training one.</summary>
    public string? Clip { get; init; }

    /// <summary>Where the trained CLIP is saved.</summary>
    public string Output { get; init; } = Path.Combine("output", "clip-flowers");

    /// <summary>Seed of the data and the training.</summary>
    public long Seed { get; init; }

    /// <summary>libtorch CPU threads.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>The ClipZeroShot sample's command line (System.CommandLine; the shared options come from <see cref="CommonOptions"/>).</summary>
public sealed class ClipZeroShotCommandLine : SampleCommandLine<ClipZeroShotOptions>
{
    private static readonly ClipZeroShotOptions Defaults = new();

    private readonly Option<double> minutes = CommonOptions.Minutes(Defaults.Minutes, "the CLIP");
    private readonly Option<long?> steps = CommonOptions.Steps("the CLIP");
    private readonly Option<int> batchSize = CommonOptions.BatchSize(Defaults.BatchSize);
    private readonly Option<int> datasetSize = CommonOptions.DatasetSize(Defaults.DatasetSize, min: 2);
    private readonly Option<int> testSize = CommonOptions.Range(
        new Option<int>("--test-size") { Description = "held-out flowers to classify", HelpName = "n", DefaultValueFactory = _ => Defaults.TestSize }, 1, 1_000_000);

    private readonly Option<string> clip = CommonOptions.MustExist(
        new Option<string>("--clip") { Description = "evaluate this CLIP folder (saved by this sample or TextToImage) instead of training one", HelpName = "folder" },
        PathKind.Folder);

    private readonly Option<string> output = CommonOptions.Output(Defaults.Output, "where the trained CLIP is saved (open it with ClipModel.Load)");
    private readonly Option<long> seed = CommonOptions.Seed();

    /// <summary>Creates the command line (one per parse).</summary>
    public ClipZeroShotCommandLine()
        : base(
            "ClipZeroShot",
            "Trains a small CLIP from scratch on captioned procedural flowers (\"a red tulip\") for a few minutes, then classifies " +
            "held-out flowers zero-shot among every species x colour caption and prints Similarity(image, caption) for the right " +
            "caption next to wrong ones.")
    {
        Command.Add(
            minutes, steps, batchSize, datasetSize, testSize, clip, output, seed);
    }

    /// <inheritdoc/>
    protected override ClipZeroShotOptions Bind(ParseResult parsed) => new()
    {
        Minutes = parsed.GetValue(minutes),
        Steps = parsed.GetValue(steps),
        BatchSize = parsed.GetValue(batchSize),
        DatasetSize = parsed.GetValue(datasetSize),
        TestSize = parsed.GetValue(testSize),
        Clip = parsed.GetValue(clip),
        Output = parsed.GetRequiredValue(output),
        Seed = parsed.GetValue(seed),
        Threads = parsed.GetValue(Command.Threads),
    };
}
