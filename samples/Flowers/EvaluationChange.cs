using System.Globalization;

namespace Diffusion.Samples.Flowers;

/// <summary>
/// How a run changed the held-out evaluation loss, image by image: the same images, noise and timesteps before and
/// after (<c>Trainer.EvaluationLosses</c>), so each image's difference is paired and their spread says how small a
/// change of the mean this check can tell from nothing.
/// </summary>
/// <param name="Before">The mean loss at the start.</param>
/// <param name="After">The mean loss at the end.</param>
/// <param name="StandardError">The standard error of the mean difference (sample standard deviation of the
/// per-image differences over √n); NaN for one image, which has no spread to judge by.</param>
public sealed record EvaluationChange(double Before, double After, double StandardError)
{
    /// <summary>Pairs two runs of the evaluation over the same images and seed.</summary>
    /// <param name="before">Each image's loss at the start.</param>
    /// <param name="after">Each image's loss at the end, in the same order.</param>
    /// <returns>The means and the standard error of their difference.</returns>
    /// <exception cref="ArgumentException">The lists are empty or of different lengths.</exception>
    public static EvaluationChange Of(IReadOnlyList<double> before, IReadOnlyList<double> after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        if (before.Count == 0 || before.Count != after.Count)
        {
            throw new ArgumentException($"after must hold one loss per image of before ({before.Count}, at least 1); got {after.Count}.", nameof(after));
        }

        int n = before.Count;
        double[] differences = [.. after.Zip(before, (a, b) => a - b)];
        double mean = differences.Average();
        double variance = n > 1 ? differences.Sum(d => (d - mean) * (d - mean)) / (n - 1) : double.NaN;
        return new EvaluationChange(before.Average(), after.Average(), Math.Sqrt(variance / n));
    }

    /// <summary>True when the change is more than two standard errors: a change the check resolves (about 95 %
    /// confidence that its sign is right). False for one image.</summary>
    public bool Resolved => Math.Abs(After - Before) > 2 * StandardError;

    /// <summary>The console line: both figures and the change with its resolution, e.g. "0.05479 at the start,
    /// 0.05483 now (worse by 0.07 %, ± 0.06 %: two standard errors of the image-by-image differences)", or
    /// "(0.03 % worse, within the ± 0.05 % this check resolves, …: no measurable change)".</summary>
    /// <returns>The text after "Evaluation loss on …: ".</returns>
    public string Describe()
    {
        double relative = Math.Abs(After - Before) / Before;
        double resolution = 2 * StandardError / Before;
        string direction = After <= Before ? "better" : "worse";
        if (double.IsNaN(StandardError))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{Before:F5} at the start, {After:F5} now ({direction} by {relative:P2}; one image has no spread to judge that by)");
        }

        return Resolved
            ? string.Create(CultureInfo.InvariantCulture, $"{Before:F5} at the start, {After:F5} now ({direction} by {relative:P2}, ± {resolution:P2}: two standard errors of the image-by-image differences)")
            : string.Create(CultureInfo.InvariantCulture, $"{Before:F5} at the start, {After:F5} now ({relative:P2} {direction}, within the ± {resolution:P2} this check resolves, two standard errors of the image-by-image differences: no measurable change)");
    }
}
