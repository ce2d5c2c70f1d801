using Diffusion.Pipelines;

namespace Diffusion.Samples.Pretrained;

/// <summary>A one-line progress bar for sampling (step, timestep, steps/s, ETA); plain lines when output is redirected.</summary>
internal sealed class SamplingProgressBar : IProgress<SamplingProgress>
{
    private readonly System.Diagnostics.Stopwatch watch = System.Diagnostics.Stopwatch.StartNew();
    private DateTime lastDraw = DateTime.MinValue;

    public void Report(SamplingProgress value)
    {
        bool interactive = !Console.IsOutputRedirected;
        DateTime now = DateTime.UtcNow;
        bool last = value.Step == value.TotalSteps && value.Batch == value.Batches - 1;
        if (!last && (now - lastDraw).TotalSeconds < (interactive ? 0.25 : 15))
        {
            return;
        }

        lastDraw = now;
        double fraction = ((value.Batch * (double)value.TotalSteps) + value.Step) / (value.Batches * (double)value.TotalSteps);
        double seconds = watch.Elapsed.TotalSeconds;
        TimeSpan eta = TimeSpan.FromSeconds(seconds * (1 - fraction) / fraction);
        const int Width = 24;
        int filled = (int)Math.Round(Width * fraction);
        string line = $"[{new string('#', filled)}{new string('.', Width - filled)}] step {value.Step}/{value.TotalSteps} t={value.Timestep:0.#} " +
                      $"{value.Step / Math.Max(seconds, 1e-9):F1} steps/s ETA {(int)eta.TotalHours}:{eta:mm\\:ss}";
        if (interactive)
        {
            Console.Write("\r" + line.PadRight(Math.Min(Math.Max(Console.WindowWidth - 1, line.Length), 160)));
            if (last)
            {
                Console.WriteLine();
            }
        }
        else
        {
            Console.WriteLine(line);
        }
    }
}
