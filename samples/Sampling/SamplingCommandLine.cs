using System.CommandLine;

namespace Diffusion.Samples.Sampling;

/// <summary>The Sampling sample's options, as parsed from its command line (<see cref="SamplingCommandLine"/>).</summary>
public sealed record SamplingOptions
{
    /// <summary>Scheduler names this sample knows.</summary>
    public static IReadOnlyList<string> SchedulerNames { get; } = ["ddim-book", .. SamplerNames.All];

    /// <summary>Weights: the unet-ema folder the Flowers sample writes (any <c>UNet.SavePretrained</c> folder), or a trainer checkpoint.</summary>
    public string Weights { get; init; } = Path.Combine("output", "flowers", "unet-ema");

    /// <summary>Scheduler name, or "all" for one row per scheduler.</summary>
    public string Scheduler { get; init; } = "ddim-book";

    /// <summary>Denoising steps; null: the scheduler's usual count (DDPM 1000, DDIM 50, Euler 30, DPM-Solver++ 20).</summary>
    public int? SamplingSteps { get; init; }

    /// <summary>Images per scheduler.</summary>
    public int Count { get; init; } = 8;

    /// <summary>Seed of the noise.</summary>
    public long Seed { get; init; }

    /// <summary>Output PNG.</summary>
    public string Output { get; init; } = Path.Combine("output", "sampling.png");

    /// <summary>libtorch CPU threads.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>The Sampling sample's command line (System.CommandLine; the shared options come from <see cref="CommonOptions"/>).</summary>
public sealed class SamplingCommandLine : SampleCommandLine<SamplingOptions>
{
    private static readonly SamplingOptions Defaults = new();

    private readonly Option<string> weights = new("--weights")
    {
        Description = "a U-Net folder (unet-ema/ from the Flowers sample, or any UNet.SavePretrained folder), or a trainer checkpoint-*.safetensors",
        HelpName = "path",
        DefaultValueFactory = _ => Defaults.Weights,
    };

    private readonly Option<string> scheduler = new Option<string>("--scheduler")
    {
        Description = "the sampler; all draws one row per scheduler with the same noise",
        HelpName = string.Join('|', SamplingOptions.SchedulerNames) + "|all",
        DefaultValueFactory = _ => Defaults.Scheduler,
    }.AcceptOnlyFromAmong([.. SamplingOptions.SchedulerNames, "all"]);

    private readonly Option<int?> samplingSteps = CommonOptions.SamplingSteps(null, "50 DDIM, 1000 DDPM, 30 Euler, 20 DPM-Solver++");
    private readonly Option<int> count = CommonOptions.Count(Defaults.Count, "images per scheduler");
    private readonly Option<long> seed = CommonOptions.Seed();
    private readonly Option<string> output = CommonOptions.Output(Defaults.Output, "the PNG grid to write");

    /// <summary>Creates the command line (one per parse).</summary>
    public SamplingCommandLine()
        : base(
            "Sampling",
            "Loads trained U-Net weights and draws a grid with the scheduler and step count you choose.")
    {
        Command.Add(
            weights, scheduler, samplingSteps, count, seed, output);

        // A command-level check, because the default path must exist too (option checks run only for given options).
        Command.Validate(result => result.GetValue(weights) is { } path
            && CommonOptions.MissingPathMessage("--weights", path, PathKind.FileOrFolder) is { } message
            ? message + " Run the Flowers sample first, or pass --weights."
            : null);
    }

    /// <inheritdoc/>
    protected override SamplingOptions Bind(ParseResult parsed) => new()
    {
        Weights = parsed.GetRequiredValue(weights),
        Scheduler = parsed.GetRequiredValue(scheduler),
        SamplingSteps = parsed.GetValue(samplingSteps),
        Count = parsed.GetValue(count),
        Seed = parsed.GetValue(seed),
        Output = parsed.GetRequiredValue(output),
        Threads = parsed.GetValue(Command.Threads),
    };
}
