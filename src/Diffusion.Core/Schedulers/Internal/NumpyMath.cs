namespace Diffusion.Schedulers.Internal;

/// <summary>
/// The few numpy float64 routines diffusers builds timesteps and sigmas with, written so that the
/// results equal numpy's bit for bit (same formula, same order of operations, same rounding).
/// </summary>
internal static class NumpyMath
{
    /// <summary>numpy.linspace(start, stop, num) in float64: i·step + start, the last value set to stop.</summary>
    public static double[] Linspace(double start, double stop, int num)
    {
        var result = new double[num];
        if (num == 0)
        {
            return result;
        }

        int div = num - 1;
        double step = div > 0 ? (stop - start) / div : double.NaN;
        for (int i = 0; i < num; i++)
        {
            result[i] = div > 0 ? (i * step) + start : start;
        }

        if (num > 1)
        {
            result[^1] = stop;
        }

        return result;
    }

    /// <summary>
    /// numpy.arange(start, stop, step) in float64: length ceil((stop − start) / step), values
    /// start + i·delta with delta = (start + step) − start, as numpy's fill does.
    /// </summary>
    public static double[] Arange(double start, double stop, double step)
    {
        long length = (long)Math.Ceiling((stop - start) / step);
        if (length <= 0)
        {
            return [];
        }

        var result = new double[length];
        result[0] = start;
        if (length > 1)
        {
            double delta = (start + step) - start;
            for (long i = 1; i < length; i++)
            {
                result[i] = start + (i * delta);
            }
        }

        return result;
    }

    /// <summary>numpy.round: halves to even.</summary>
    public static double Round(double value) => Math.Round(value, MidpointRounding.ToEven);

    /// <summary>numpy.interp(x, [0, 1, …, n−1], ys) in float64, with numpy's exact-hit and end rules.</summary>
    public static double Interp(double x, float[] ys)
    {
        int last = ys.Length - 1;
        if (double.IsNaN(x))
        {
            return x;
        }

        if (x >= last)
        {
            return ys[last];
        }

        if (x < 0)
        {
            return ys[0];
        }

        int j = (int)Math.Floor(x);
        if (x == j)
        {
            return ys[j];
        }

        // numpy: slope·(x − x_j) + y_j with slope = (y_{j+1} − y_j) / (x_{j+1} − x_j).
        double slope = ((double)ys[j + 1] - ys[j]) / 1.0;
        return (slope * (x - j)) + ys[j];
    }
}
