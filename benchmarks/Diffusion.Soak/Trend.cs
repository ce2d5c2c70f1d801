namespace Diffusion.Soak;

/// <summary>Least-squares slope of a quantity against the step, over the samples after warm-up.</summary>
internal static class Trend
{
    /// <summary>Slope (units per step) and the first and last fitted values.</summary>
    public static (double Slope, double Start, double End) Fit(IReadOnlyList<MemorySample> samples, Func<MemorySample, double> value)
    {
        if (samples.Count < 2)
        {
            return (0, samples.Count == 1 ? value(samples[0]) : 0, samples.Count == 1 ? value(samples[0]) : 0);
        }

        double meanX = samples.Average(s => (double)s.Step);
        double meanY = samples.Average(value);
        double sxy = samples.Sum(s => (s.Step - meanX) * (value(s) - meanY));
        double sxx = samples.Sum(s => (s.Step - meanX) * (s.Step - meanX));
        double slope = sxx == 0 ? 0 : sxy / sxx;
        double start = meanY + (slope * (samples[0].Step - meanX));
        double end = meanY + (slope * (samples[^1].Step - meanX));
        return (slope, start, end);
    }
}
