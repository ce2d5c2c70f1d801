using System.CommandLine;
using System.Globalization;
using Diffusion.Pipelines;

namespace Diffusion.Samples.TextToImage;

/// <summary>The TextToImage sample's options, as parsed from its command line (<see cref="TextToImageCommandLine"/>).</summary>
public sealed record TextToImageOptions
{
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
    public double Guidance { get; init; } = TextToImagePipeline.DefaultGuidanceScale;

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
}

/// <summary>The TextToImage sample's command line (System.CommandLine; the shared options come from <see cref="CommonOptions"/>).</summary>
public sealed class TextToImageCommandLine : SampleCommandLine<TextToImageOptions>
{
    private static readonly TextToImageOptions Defaults = new();

    private readonly Option<double> minutes = CommonOptions.Minutes(Defaults.Minutes, "the U-Net");
    private readonly Option<long?> steps = CommonOptions.Steps("the U-Net");
    private readonly Option<string> clip = CommonOptions.MustExist(
        new Option<string>("--clip") { Description = "use this CLIP folder (e.g. from samples/ClipZeroShot) instead of training one", HelpName = "folder" },
        PathKind.Folder);

    private readonly Option<double> clipMinutes = CommonOptions.Range(
        new Option<double>("--clip-minutes") { Description = "training time of the CLIP when there is none yet", HelpName = "m", DefaultValueFactory = _ => Defaults.ClipMinutes }, 0.01, 1000);

    private readonly Option<int> imageSize = CommonOptions.ImageSize(Defaults.ImageSize, 8, 64, 4, "CLIP's patches are 4 pixels");
    private readonly Option<int[]> modelDims = CommonOptions.ModelDims([.. Defaults.ModelDims]);
    private readonly Option<int> batchSize = CommonOptions.BatchSize(Defaults.BatchSize);
    private readonly Option<double> learningRate = CommonOptions.LearningRate(Defaults.LearningRate);
    private readonly Option<double> dropout = CommonOptions.Range(
        new Option<double>("--dropout") { Description = "condition dropout: the share of items trained without their caption", HelpName = "p", DefaultValueFactory = _ => Defaults.Dropout }, 0, 1);

    private readonly Option<int> datasetSize = CommonOptions.DatasetSize(Defaults.DatasetSize, min: 64);
    private readonly Option<double> guidance = CommonOptions.Range(
        new Option<double>("--guidance") { Description = "guidance scale of the grid and the evaluation", HelpName = "s", DefaultValueFactory = _ => Defaults.Guidance }, 0, 100);

    private readonly Option<int> evalCount = CommonOptions.Range(
        new Option<int>("--eval-count") { Description = "images per caption in the evaluation, over all 37 captions (0 skips it)", HelpName = "n", DefaultValueFactory = _ => Defaults.EvalCount }, 0, 1000);

    private readonly Option<double[]?> evalGuidance = new("--eval-guidance")
    {
        Description = "guidance scales to evaluate, comma-separated (default: 0, 1 and --guidance)",
        HelpName = "a,b,..",
        CustomParser = result =>
        {
            string text = string.Join(',', result.Tokens.Select(t => t.Value));
            var scales = new List<double>();
            foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double scale) || scale is < 0 or > 100)
                {
                    result.AddError($"--eval-guidance expects comma-separated guidance scales from 0 to 100 such as 0,1,2; got '{text}'.");
                    return null;
                }

                scales.Add(scale);
            }

            return [.. scales];
        },
    };

    private readonly Option<int?> samplingSteps = CommonOptions.SamplingSteps(Defaults.SamplingSteps);
    private readonly Option<int> evalSteps = CommonOptions.Range(
        new Option<int>("--eval-steps") { Description = "DDIM steps of the evaluation", HelpName = "n", DefaultValueFactory = _ => Defaults.EvalSteps }, 1, 1000);

    private readonly Option<bool> thresholding = new("--thresholding") { Description = "sample with dynamic thresholding (Imagen) instead of clipping x0 to [-1, 1]" };
    private readonly Option<int> gridScale = CommonOptions.Range(
        new Option<int>("--grid-scale") { Description = "enlarge the grid's pixels this many times", HelpName = "n", DefaultValueFactory = _ => Defaults.GridScale }, 1, 16);

    private readonly Option<string> output = CommonOptions.Output(Defaults.Output, "the CLIP, checkpoints, grids and evaluation.md");
    private readonly Option<long> seed = CommonOptions.Seed();

    /// <summary>Creates the command line (one per parse).</summary>
    public TextToImageCommandLine()
        : base(
            "TextToImage",
            "Trains a small text-conditioned U-Net on captioned procedural flowers (\"a red tulip\"), conditioned on a small CLIP " +
            "text encoder, then draws a grid (one row per prompt) and measures how well the images follow their prompts with " +
            "that CLIP (zero-shot species x colour accuracy and mean similarity) at several guidance scales. Runs resume: the " +
            "CLIP in <output>/clip and the newest checkpoint in <output>/checkpoints are reused.")
    {
        Command.Add(
            minutes, steps, clip, clipMinutes, imageSize, modelDims, batchSize, learningRate, dropout, datasetSize, guidance, evalCount,
            evalGuidance, samplingSteps, evalSteps, thresholding, gridScale, output, seed);
        Command.Validate(result =>
        {
            int size = result.GetValue(imageSize);
            int levels = result.GetValue(modelDims)?.Length ?? Defaults.ModelDims.Count;
            int halvings = 1 << Math.Max(0, levels - 2);
            return size % halvings != 0
                ? $"--image-size must be a multiple of 2^(levels - 2) = {halvings} for {levels} --model-dims levels; got {size}."
                : null;
        });
    }

    /// <inheritdoc/>
    protected override TextToImageOptions Bind(ParseResult parsed) => new()
    {
        Minutes = parsed.GetValue(minutes),
        Steps = parsed.GetValue(steps),
        Clip = parsed.GetValue(clip),
        ClipMinutes = parsed.GetValue(clipMinutes),
        ImageSize = parsed.GetValue(imageSize),
        ModelDims = parsed.GetRequiredValue(modelDims),
        BatchSize = parsed.GetValue(batchSize),
        LearningRate = parsed.GetValue(learningRate),
        Dropout = parsed.GetValue(dropout),
        DatasetSize = parsed.GetValue(datasetSize),
        Guidance = parsed.GetValue(guidance),
        EvalCount = parsed.GetValue(evalCount),
        EvalGuidance = parsed.GetValue(evalGuidance),
        SamplingSteps = parsed.GetValue(samplingSteps) ?? Defaults.SamplingSteps,
        EvalSteps = parsed.GetValue(evalSteps),
        Thresholding = parsed.GetValue(thresholding),
        GridScale = parsed.GetValue(gridScale),
        Threads = parsed.GetValue(Command.Threads),
        Output = parsed.GetRequiredValue(output),
        Seed = parsed.GetValue(seed),
    };
}
