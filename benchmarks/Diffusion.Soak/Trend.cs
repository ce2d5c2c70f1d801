namespace Diffusion.Soak;

/// <summary>Least-squares slope of a quantity against the step, over the samples after warm-up.</summary>
internal static class Trend
{
    /// <summary>Slope (units per step), its standard error, and the first and last fitted values.</summary>
    public static (double Slope, double StandardError, double Start, double End) Fit(IReadOnlyList<MemorySample> samples, Func<MemorySample, double> value)
    {
        if (samples.Count < 3)
        {
            return (0, double.NaN, samples.Count > 0 ? value(samples[0]) : 0, samples.Count > 0 ? value(samples[^1]) : 0);
        }

        double meanX = samples.Average(s => (double)s.Step);
        double meanY = samples.Average(value);
        double sxy = samples.Sum(s => (s.Step - meanX) * (value(s) - meanY));
        double sxx = samples.Sum(s => (s.Step - meanX) * (s.Step - meanX));
        double slope = sxx == 0 ? 0 : sxy / sxx;
        double start = meanY + (slope * (samples[0].Step - meanX));
        double end = meanY + (slope * (samples[^1].Step - meanX));
        double residuals = samples.Sum(s => Math.Pow(value(s) - (meanY + (slope * (s.Step - meanX))), 2));
        double standardError = sxx == 0 ? double.NaN : Math.Sqrt(residuals / (samples.Count - 2) / sxx);
        return (slope, standardError, start, end);
    }
}
