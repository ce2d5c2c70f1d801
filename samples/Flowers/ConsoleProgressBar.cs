using Diffusion.Training;

namespace Diffusion.Samples.Flowers;

/// <summary>A one-line progress bar for training (steps, loss, images/s, ETA); plain lines when output is redirected.</summary>
internal sealed class ConsoleProgressBar : IProgress<TrainingProgress>
{
    private readonly TimeSpan? budget;
    private readonly long? stepLimit;
    private readonly long startStep;
    private DateTime lastDraw = DateTime.MinValue;

    public ConsoleProgressBar(TimeSpan? budget, long? stepLimit, long startStep)
    {
        this.budget = budget;
        this.stepLimit = stepLimit;
        this.startStep = startStep;
    }

    public void Report(TrainingProgress value)
    {
        bool interactive = !Console.IsOutputRedirected;
        DateTime now = DateTime.UtcNow;
        if ((now - lastDraw).TotalSeconds < (interactive ? 0.25 : 15))
        {
            return;
        }

        lastDraw = now;
        double fraction = Fraction(value);
        TimeSpan eta = fraction > 0 ? TimeSpan.FromSeconds(value.Elapsed.TotalSeconds * (1 - fraction) / fraction) : TimeSpan.Zero;
        const int Width = 24;
        int filled = (int)Math.Round(Width * Math.Clamp(fraction, 0, 1));
        string line = $"[{new string('#', filled)}{new string('.', Width - filled)}] step {value.Step} loss {value.AverageLoss:F4} " +
                      $"lr {value.LearningRate:0.0e0} {value.ImagesPerSecond:F1} img/s data-wait {value.DataWait.TotalSeconds:F1}s ETA {(int)eta.TotalHours}:{eta:mm\\:ss}";
        if (interactive)
        {
            Console.Write("\r" + line.PadRight(Math.Max(0, Console.WindowWidth - 1 > 0 ? Math.Min(Console.WindowWidth - 1, 160) : line.Length)));
        }
        else
        {
            Console.WriteLine(line);
        }
    }

    public void Finish()
    {
        if (!Console.IsOutputRedirected)
        {
            Console.WriteLine();
        }
    }

    private double Fraction(TrainingProgress value)
    {
        if (stepLimit is { } limit && limit > startStep)
        {
            return (double)(value.Step - startStep) / (limit - startStep);
        }

        return budget is { } b ? value.Elapsed.TotalSeconds / b.TotalSeconds : 0;
    }
}
