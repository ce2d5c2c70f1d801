using System.Globalization;

namespace Diffusion.Samples.Sampling;

/// <summary>The Sampling sample's command line, parsed and checked.</summary>
public sealed record SamplingOptions
{
    /// <summary>Scheduler names this sample knows.</summary>
    public static IReadOnlyList<string> SchedulerNames { get; } = ["ddim-book", "ddim", "ddpm", "euler", "dpm++"];

    /// <summary>Weights: unet-ema.safetensors written by the Flowers sample, or a trainer checkpoint.</summary>
    public string Weights { get; init; } = Path.Combine("output", "flowers", "unet-ema.safetensors");

    /// <summary>Scheduler name, or "all" for one row per scheduler.</summary>
    public string Scheduler { get; init; } = "ddim-book";

    /// <summary>Denoising steps; null: the scheduler's usual count (DDPM 1000, DDIM 50, Euler 30, DPM-Solver++ 20).</summary>
    public int? Steps { get; init; }

    /// <summary>Images per scheduler.</summary>
    public int Count { get; init; } = 8;

    /// <summary>Seed of the noise.</summary>
    public long Seed { get; init; }

    /// <summary>Output PNG.</summary>
    public string Output { get; init; } = Path.Combine("output", "sampling.png");

    /// <summary>Usage text.</summary>
    public const string Usage = """
        Loads trained U-Net weights and draws a grid with the scheduler and step count you choose.

        Options:
          --weights PATH       unet-ema.safetensors from the Flowers sample, or a checkpoint-*.safetensors
                               (default output/flowers/unet-ema.safetensors)
          --scheduler NAME     ddim-book | ddim | ddpm | euler | dpm++ | all (one row each; default ddim-book)
          --steps N            denoising steps (default: 50 DDIM, 1000 DDPM, 30 Euler, 20 DPM-Solver++)
          --count N            images per scheduler (default 8)
          --seed N             (default 0)
          --output PATH        (default output/sampling.png)
        """;

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> naming the bad flag and value.</summary>
    /// <param name="args">The command line.</param>
    /// <returns>The options, or null for --help.</returns>
    public static SamplingOptions? Parse(IReadOnlyList<string> args)
    {
        var options = new SamplingOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string flag = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{flag} needs a value.");
            options = flag switch
            {
                "--help" or "-h" => null,
                "--weights" => options with { Weights = Value() },
                "--scheduler" => options with { Scheduler = SchedulerName(Value()) },
                "--steps" => options with { Steps = Whole(flag, Value(), 1, 1000) },
                "--count" => options with { Count = Whole(flag, Value(), 1, 64) },
                "--seed" => options with { Seed = Whole(flag, Value(), 0, int.MaxValue) },
                "--output" => options with { Output = Value() },
                _ => throw new ArgumentException($"unknown option '{flag}'. Run with --help for the list."),
            };
            if (options is null)
            {
                return null;
            }
        }

        return options;
    }

    private static string SchedulerName(string text) =>
        text == "all" || SchedulerNames.Contains(text)
            ? text
            : throw new ArgumentException($"--scheduler must be one of {string.Join(", ", SchedulerNames)} or all; got '{text}'.");

    private static int Whole(string flag, string text, int min, int max) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max
            ? value
            : throw new ArgumentException($"{flag} must be a whole number from {min} to {max}; got '{text}'.");
}
