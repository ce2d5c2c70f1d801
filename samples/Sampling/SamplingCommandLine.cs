using System.CommandLine;

namespace Diffusion.Samples.Sampling;

/// <summary>The Sampling sample's options, as parsed from its command line (<see cref="SamplingCommandLine"/>).</summary>
public sealed record SamplingOptions
{
    /// <summary>Scheduler names this sample knows.</summary>
    public static IReadOnlyList<string> SchedulerNames { get; } = ["ddim-book", "ddim", "ddpm", "euler", "dpm++"];

    /// <summary>Weights: unet-ema.safetensors written by the Flowers sample, or a trainer checkpoint.</summary>
    public string Weights { get; init; } = Path.Combine("output", "flowers", "unet-ema.safetensors");

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
public sealed class SamplingCommandLine
{
    private static readonly SamplingOptions Defaults = new();

    private readonly Option<string> weights = new("--weights")
    {
        Description = "unet-ema.safetensors from the Flowers sample, or a trainer checkpoint-*.safetensors",
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

    private SamplingCommandLine()
    {
        Command = new SampleCommand(
            "Sampling",
            "Loads trained U-Net weights and draws a grid with the scheduler and step count you choose.",
            weights, scheduler, samplingSteps, count, seed, output);

        // A command-level check, because the default path must exist too (option checks run only for given options).
        Command.Validate(result =>
        {
            if (result.GetValue(weights) is { } path && CommonOptions.MissingPathMessage("--weights", path, PathKind.File) is { } message)
            {
                result.AddError(message + " Run the Flowers sample first, or pass --weights.");
            }
        });
    }

    /// <summary>The command (options are made per instance: a System.CommandLine option belongs to one command).</summary>
    public SampleCommand Command { get; }

    /// <summary>Parses the command line, or prints help or the error and says how to exit.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="options">The options, when the sample should run.</param>
    /// <param name="exitCode">When false is returned: 0 after --help, 2 after an error (printed in one line).</param>
    /// <param name="errors">Where the error line goes; standard error when null.</param>
    /// <returns>True when the sample should run.</returns>
    public static bool TryParse(IReadOnlyList<string> args, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SamplingOptions? options, out int exitCode, TextWriter? errors = null)
    {
        var line = new SamplingCommandLine();
        return line.Command.TryParse(args, line.Bind, out options, out exitCode, errors);
    }

    private SamplingOptions Bind(ParseResult parsed) => new()
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
