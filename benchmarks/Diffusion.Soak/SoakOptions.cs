using System.Globalization;

namespace Diffusion.Soak;

/// <summary>Command-line options of the soak run.</summary>
internal sealed record SoakOptions
{
    public long TrainSteps { get; init; } = 3000;

    public int SampleCalls { get; init; } = 60;

    public int Threads { get; init; } = 1;

    public bool KeepFreed { get; init; }

    public string? CsvPath { get; init; }

    public double WarmupFraction { get; init; } = 0.2;

    public bool ThreadsProbe { get; init; }

    public static SoakOptions Parse(string[] args)
    {
        var options = new SoakOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            options = args[i] switch
            {
                "--train-steps" => options with { TrainSteps = long.Parse(Next(), CultureInfo.InvariantCulture) },
                "--sample-calls" => options with { SampleCalls = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--threads" => options with { Threads = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--keep-freed" => options with { KeepFreed = true },
                "--csv" => options with { CsvPath = Next() },
                "--warmup" => options with { WarmupFraction = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "threads" => options with { ThreadsProbe = true },
                _ => throw new ArgumentException($"unknown argument '{args[i]}'; see the comment at the top of Program.cs."),
            };
        }

        return options;
    }
}
