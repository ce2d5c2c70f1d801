using System.Globalization;

namespace Diffusion.Samples.ClipZeroShot;

/// <summary>Command-line flags of the sample.</summary>
internal sealed record SampleOptions(double Minutes, int? Steps, int Batch, int Train, int Test, int Threads, string Output)
{
    public static SampleOptions Parse(string[] args)
    {
        var options = new SampleOptions(3, null, 64, 8192, 740, Math.Max(1, Environment.ProcessorCount), Path.Combine("output", "clip-flowers"));
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            options = args[i] switch
            {
                "--minutes" => options with { Minutes = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--steps" => options with { Steps = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--batch" => options with { Batch = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--train" => options with { Train = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--test" => options with { Test = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--threads" => options with { Threads = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--output" => options with { Output = Next() },
                _ => throw new ArgumentException($"unknown flag {args[i]}; use --minutes, --steps, --batch, --train, --test, --threads, --output."),
            };
        }

        return options;
    }
}
