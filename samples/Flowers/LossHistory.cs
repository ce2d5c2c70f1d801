using System.Globalization;
using Diffusion.Training;

namespace Diffusion.Samples.Flowers;

/// <summary>Every run's per-step losses in one CSV (step,loss), so loss.png shows the whole history.</summary>
internal static class LossHistory
{
    public static void Append(string path, TrainingResult result)
    {
        long first = result.Steps - result.StepsThisRun;
        using var writer = new StreamWriter(path, append: true);
        for (int i = 0; i < result.Losses.Count; i++)
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{first + i + 1},{result.Losses[i]}"));
        }
    }

    /// <summary>The losses from the first recorded step to the last (NaN where a step is missing) and that first step.</summary>
    public static (long FirstStep, IReadOnlyList<float> Losses) Read(string path)
    {
        if (!File.Exists(path))
        {
            return (1, []);
        }

        // A later run may resume from an earlier checkpoint than the last line: keep the last value per step.
        var byStep = new SortedDictionary<long, float>();
        foreach (string line in File.ReadLines(path))
        {
            string[] parts = line.Split(',');
            if (parts.Length == 2 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out long step)
                && float.TryParse(parts[1], CultureInfo.InvariantCulture, out float loss))
            {
                byStep[step] = loss;
            }
        }

        if (byStep.Count == 0)
        {
            return (1, []);
        }

        long first = byStep.Keys.First();
        long last = byStep.Keys.Last();
        return (first, [.. Enumerable.Range(0, (int)(last - first + 1)).Select(i => byStep.GetValueOrDefault(first + i, float.NaN))]);
    }
}
