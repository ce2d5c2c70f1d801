namespace Diffusion.Soak;

/// <summary>Prints, per phase, the trend of each quantity after warm-up.</summary>
internal static class Summary
{
    public static void Print(IReadOnlyList<MemorySample> samples, double warmupFraction)
    {
        foreach (IGrouping<string, MemorySample> phase in samples.GroupBy(s => s.Phase))
        {
            MemorySample[] all = [.. phase];
            long last = all[^1].Step;
            MemorySample[] steady = [.. all.Where(s => s.Step >= warmupFraction * last)];
            (double rss, double rssStart, double rssEnd) = Trend.Fit(steady, s => s.ResidentBytes);
            (double gc, _, _) = Trend.Fit(steady, s => s.ManagedBytes);
            (double live, _, _) = Trend.Fit(steady, s => s.LiveTensors);
            Console.WriteLine(
                $"{phase.Key}: steps {steady[0].Step}–{last} (after {warmupFraction:P0} warm-up), {steady.Length} samples: " +
                $"RSS {rssStart / 1048576:F1} → {rssEnd / 1048576:F1} MiB fitted, slope {rss:F1} B/step " +
                $"(min {steady.Min(s => s.ResidentBytes) / 1048576.0:F1}, max {steady.Max(s => s.ResidentBytes) / 1048576.0:F1} MiB); " +
                $"GC heap slope {gc:F1} B/step; live tensors {steady.Min(s => s.LiveTensors)}–{steady.Max(s => s.LiveTensors)}, slope {live:F4}/step");
        }
    }
}
