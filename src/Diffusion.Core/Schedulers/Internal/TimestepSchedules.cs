namespace Diffusion.Schedulers.Internal;

/// <summary>
/// Inference timesteps for each <see cref="TimestepSpacing"/>, computed with numpy's float64 rules as
/// diffusers' set_timesteps does (Table 2 of Lin et al. 2023, "Common Diffusion Noise Schedules and
/// Sample Steps are Flawed"). Values come highest first.
/// </summary>
internal static class TimestepSchedules
{
    /// <summary>DDPM, DDIM and Euler: <paramref name="n"/> timesteps out of <paramref name="numTrain"/>.</summary>
    /// <param name="spacing">The spacing rule.</param>
    /// <param name="numTrain">T, the number of training timesteps.</param>
    /// <param name="n">N, the number of inference steps.</param>
    /// <param name="stepsOffset">Added to leading timesteps.</param>
    /// <param name="roundLinspace">DDPM/DDIM round linspace timesteps to integers; Euler keeps them fractional (float32).</param>
    public static double[] Spaced(TimestepSpacing spacing, int numTrain, int n, int stepsOffset, bool roundLinspace)
    {
        double[] values;
        switch (spacing)
        {
            case TimestepSpacing.Linspace:
                values = NumpyMath.Linspace(0, numTrain - 1, n);
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = roundLinspace ? NumpyMath.Round(values[i]) : (float)values[i];
                }

                Array.Reverse(values);
                return values;

            case TimestepSpacing.Leading:
                // Multiples of T // N from 0, plus the offset.
                int ratio = numTrain / n;
                values = new double[n];
                for (int i = 0; i < n; i++)
                {
                    values[n - 1 - i] = ((double)i * ratio) + stepsOffset;
                }

                return values;

            case TimestepSpacing.Trailing:
                // Down from T by T / N (a float step), rounded, minus one.
                values = NumpyMath.Arange(numTrain, 0, -((double)numTrain / n));
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = NumpyMath.Round(values[i]) - 1;
                }

                return values;

            default:
                throw new ArgumentOutOfRangeException(nameof(spacing), spacing, "unknown timestep spacing");
        }
    }

    /// <summary>
    /// DPM-Solver: the same rules over N + 1 points with the last (0) dropped, up to
    /// <paramref name="lastTimestep"/> (T less the steps cut by lambda_min_clipped).
    /// </summary>
    public static double[] DpmSolver(TimestepSpacing spacing, int numTrain, int lastTimestep, int n, int stepsOffset)
    {
        double[] values;
        switch (spacing)
        {
            case TimestepSpacing.Linspace:
                values = NumpyMath.Linspace(0, lastTimestep - 1, n + 1);
                return Reverse(values.Select(NumpyMath.Round)).Take(n).ToArray();

            case TimestepSpacing.Leading:
                int ratio = lastTimestep / (n + 1);
                values = Enumerable.Range(0, n + 1).Select(i => (double)i * ratio).ToArray();
                return Reverse(values).Take(n).Select(v => v + stepsOffset).ToArray();

            case TimestepSpacing.Trailing:
                values = NumpyMath.Arange(lastTimestep, 0, -((double)numTrain / n));
                return values.Select(v => NumpyMath.Round(v) - 1).ToArray();

            default:
                throw new ArgumentOutOfRangeException(nameof(spacing), spacing, "unknown timestep spacing");
        }
    }

    private static IEnumerable<double> Reverse(IEnumerable<double> values) => values.Reverse();
}
