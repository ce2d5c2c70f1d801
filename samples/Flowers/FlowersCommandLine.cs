using System.CommandLine;

namespace Diffusion.Samples.Flowers;

/// <summary>The Flowers sample's options, as parsed from its command line (<see cref="FlowersCommandLine"/>).</summary>
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

    /// <summary>Learning rate from noise (after a 100-step warm-up).</summary>
    public const double FreshLearningRate = 1e-3;

    /// <summary>Learning rate when the run goes on from the committed starting weights: their last 2,694 steps were at
    /// 2e-4 with batches of 128, and at this sample's 32 the same gradient noise takes a quarter of that rate (the linear
    /// scaling rule). Continuing at 2e-4 with batch 32 made the held-out loss of their EMA weights drift worse, by 0.13 % in
    /// 160 steps and 0.26 % in 490 (docs/training.md).</summary>
    public const double ContinuationLearningRate = 5e-5;

    /// <summary>Learning rate; null picks <see cref="ContinuationLearningRate"/> for the model the committed weights fit,
    /// <see cref="FreshLearningRate"/> otherwise.</summary>
    public double? LearningRate { get; init; }

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

    /// <summary>DDIM steps of samples.png.</summary>
    public int SamplingSteps { get; init; } = 50;

    /// <summary>Images generated for the quality figure (the Fréchet distance to held-out flowers); 0 skips it.</summary>
    public int QualitySamples { get; init; } = 128;

    /// <summary>Seed of training and sampling.</summary>
    public long Seed { get; init; }

    /// <summary>Start from the committed starting checkpoint when the output folder has none.</summary>
    public bool UseStartingCheckpoint { get; init; } = true;

    /// <summary>Train in bfloat16: true or false when forced, null to decide from the CPU (<see cref="Precision"/>).</summary>
    public bool? BFloat16 { get; init; }

    /// <summary>libtorch CPU threads.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>The Flowers sample's command line (System.CommandLine; the shared options come from <see cref="CommonOptions"/>).</summary>
public sealed class FlowersCommandLine : SampleCommandLine<FlowersOptions>
{
    private static readonly FlowersOptions Defaults = new();

    private readonly Option<double> minutes = CommonOptions.Minutes(Defaults.Minutes, "the U-Net");
    private readonly Option<long?> steps = CommonOptions.Steps("the U-Net");
    private readonly Option<int> imageSize = CommonOptions.ImageSize(Defaults.ImageSize, 16, 128, 8, "the U-Net halves it three times");
    private readonly Option<int[]> modelDims = CommonOptions.ModelDims([.. Defaults.ModelDims]);
    private readonly Option<int> batchSize = CommonOptions.BatchSize(Defaults.BatchSize);
    private readonly Option<double> learningRate = CommonOptions.LearningRateWithoutDefault(
        "peak learning rate (constant after a 100-step warm-up) [default: 1e-3 from noise, 5e-5 going on from the committed weights]");
    private readonly Option<int> datasetSize = CommonOptions.DatasetSize(Defaults.DatasetSize);
    private readonly Option<string> data = CommonOptions.MustExist(
        new Option<string>("--data") { Description = "train on a folder of images or a .parquet file instead of procedural flowers", HelpName = "path" },
        PathKind.FileOrFolder);

    private readonly Option<string> output = CommonOptions.Output(Defaults.Output, "checkpoints, weights and pictures");
    private readonly Option<string> device = CommonOptions.Device();
    private readonly Option<int> count = CommonOptions.Count(Defaults.Samples, "images in samples.png");
    private readonly Option<int?> samplingSteps = CommonOptions.SamplingSteps(Defaults.SamplingSteps);
    private readonly Option<int> qualitySamples = CommonOptions.Range(
        new Option<int>("--quality-samples")
        {
            Description = "images generated for the quality figure (Fréchet distance to held-out flowers in a small CLIP's space); 0 skips it",
            HelpName = "n",
            DefaultValueFactory = _ => Defaults.QualitySamples,
        },
        0,
        4096);
    private readonly Option<long> seed = CommonOptions.Seed();
    private readonly Option<bool> fresh = new("--fresh") { Description = "start from noise, not from the committed starting weights (when the output has no checkpoint)" };
    private readonly Option<string> bfloat16 = new Option<string>("--bf16")
    {
        Description = "train in bfloat16: auto (only where the CPU has AMX or AVX512-BF16, which make it faster than float32, and not on top of the committed float32 weights), on or off",
        HelpName = "auto|on|off",
        DefaultValueFactory = _ => "auto",
    }.AcceptOnlyFromAmong("auto", "on", "off");

    /// <summary>Creates the command line (one per parse).</summary>
    public FlowersCommandLine()
        : base(
            "Flowers",
            "Trains a small U-Net on flowers, then writes samples.png, forward-diffusion.png and loss.png. " +
            "Runs resume from the last checkpoint in <output>/checkpoints, so repeated runs keep improving.")
    {
        Command.Add(
            minutes, steps, imageSize, modelDims, batchSize, learningRate, datasetSize, data, output, device, count, samplingSteps, qualitySamples, seed, fresh, bfloat16);
        Command.Validate(result => result.GetValue(data) is null && result.GetValue(datasetSize) < result.GetValue(batchSize)
            ? $"--dataset-size ({result.GetValue(datasetSize)}) must be at least --batch-size ({result.GetValue(batchSize)})."
            : null);
        Command.Validate(result => result.GetValue(qualitySamples) == 1
            ? "--quality-samples must be 0 (no quality figure) or at least 2 (a covariance needs two images); got 1."
            : null);
    }

    /// <inheritdoc/>
    protected override FlowersOptions Bind(ParseResult parsed) => new()
    {
        Minutes = parsed.GetValue(minutes),
        Steps = parsed.GetValue(steps),
        ImageSize = parsed.GetValue(imageSize),
        ModelDims = parsed.GetRequiredValue(modelDims),
        BatchSize = parsed.GetValue(batchSize),
        LearningRate = parsed.GetResult(learningRate) is null ? null : parsed.GetValue(learningRate),
        DatasetSize = parsed.GetValue(datasetSize),
        Data = parsed.GetValue(data),
        Output = parsed.GetRequiredValue(output),
        Device = parsed.GetRequiredValue(device),
        Samples = parsed.GetValue(count),
        SamplingSteps = parsed.GetValue(samplingSteps) ?? Defaults.SamplingSteps,
        QualitySamples = parsed.GetValue(qualitySamples),
        Seed = parsed.GetValue(seed),
        UseStartingCheckpoint = !parsed.GetValue(fresh),
        BFloat16 = parsed.GetValue(bfloat16) switch { "on" => true, "off" => false, _ => null },
        Threads = parsed.GetValue(Command.Threads),
    };
}
