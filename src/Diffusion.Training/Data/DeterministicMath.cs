namespace Diffusion.Data;

/// <summary>
/// Sine and cosine from + and × only, so the procedural drawings' geometry is bit-identical on every
/// machine. <see cref="Math.Sin"/> calls the platform's C library, whose last bits differ between
/// operating systems; IEEE addition and multiplication do not (and .NET never fuses them into FMA).
/// </summary>
internal static class DeterministicMath
{
    private const double TwoPi = 2 * Math.PI;

    /// <summary>sin(x), absolute error below 1e-12 for |x| up to a few thousand.</summary>
    public static double Sin(double x)
    {
        // Reduce to [-π, π]; Math.Round is exactly specified (round half to even).
        x -= TwoPi * Math.Round(x / TwoPi);

        // Fold into [-π/2, π/2] with sin(π − x) = sin(x).
        if (x > Math.PI / 2)
        {
            x = Math.PI - x;
        }
        else if (x < -Math.PI / 2)
        {
            x = -Math.PI - x;
        }

        // Taylor series to x^21: the next term is below (π/2)^23 / 23! ≈ 1.3e-18.
        double x2 = x * x;
        double term = x;
        double sum = x;
        for (int n = 1; n <= 10; n++)
        {
            term *= -x2 / ((2 * n) * ((2 * n) + 1));
            sum += term;
        }

        return sum;
    }

    /// <summary>cos(x) = sin(x + π/2).</summary>
    public static double Cos(double x) => Sin(x + (Math.PI / 2));
}
