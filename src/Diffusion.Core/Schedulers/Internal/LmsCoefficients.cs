namespace Diffusion.Schedulers.Internal;

/// <summary>
/// The linear multistep coefficients of <see cref="LmsDiscreteScheduler"/> (Karras et al. 2022, the k-diffusion LMS sampler):
/// the integral over [σ_i, σ_{i+1}] of each Lagrange basis polynomial through the last <c>order</c> σ.
/// </summary>
/// <remarks>
/// <para>diffusers integrates numerically with <c>scipy.integrate.quad(epsrel=1e-4)</c>. The integrand is a polynomial of
/// degree order − 1 ≤ 3 in τ, so two-point Gauss–Legendre (exact for degree ≤ 3) gives the integral exactly up to float64
/// rounding (about 1e-16 relative). QUADPACK's first 21-point Gauss–Kronrod pass is exact for degree ≤ 31 too and its
/// error estimate is then far below epsrel, so scipy returns that pass: the exact integral of the integrand as diffusers
/// evaluates it, in float32 torch arithmetic (σ are float32 tensors). The two therefore differ only by that float32
/// evaluation: at most a few ulp (2^-24 ≈ 6e-8) per factor, under 1e-6 of ∫|L_j| for three factors — far inside the
/// 1e-5 step tolerance (tests/…/LmsCoefficientTests compares with scipy's values).</para>
/// </remarks>
internal static class LmsCoefficients
{
    /// <summary>Gauss–Legendre nodes ±1/√3 on [−1, 1] (weights 1).</summary>
    private static readonly double Node = 1 / Math.Sqrt(3);

    /// <summary>
    /// ∫_{σ_i}^{σ_{i+1}} Π_{k≠j} (τ − σ_{i−k}) / (σ_{i−j} − σ_{i−k}) dτ for j = 0 … order − 1 (diffusers' get_lms_coefficient).
    /// </summary>
    /// <param name="sigmas">The inference σ, float32, with the final σ at the end.</param>
    /// <param name="i">The step index; needs i ≥ order − 1.</param>
    /// <param name="order">1 to 4.</param>
    public static double[] At(float[] sigmas, int i, int order)
    {
        double a = sigmas[i];
        double b = sigmas[i + 1];
        double half = (b - a) / 2;
        double mid = (a + b) / 2;
        var coefficients = new double[order];
        for (int j = 0; j < order; j++)
        {
            coefficients[j] = half * (Basis(sigmas, i, order, j, mid - (half * Node)) + Basis(sigmas, i, order, j, mid + (half * Node)));
        }

        return coefficients;
    }

    /// <summary>The Lagrange basis polynomial L_j(τ) through σ_i, σ_{i−1}, …, σ_{i−order+1}.</summary>
    private static double Basis(float[] sigmas, int i, int order, int j, double tau)
    {
        double product = 1.0;
        for (int k = 0; k < order; k++)
        {
            if (k != j)
            {
                product *= (tau - sigmas[i - k]) / ((double)sigmas[i - j] - sigmas[i - k]);
            }
        }

        return product;
    }
}
