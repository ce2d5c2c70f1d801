namespace Diffusion.Schedulers.Internal;

/// <summary>σ-space helpers of the Euler and DPM-Solver schedulers (float64 as diffusers' numpy code).</summary>
internal static class SigmaSchedules
{
    /// <summary>ρ of Karras et al. 2022 (EDM), eq. 5.</summary>
    private const double Rho = 7.0;

    /// <summary>Karras et al. 2022, eq. 5: σ_i = (σmax^{1/ρ} + i/(N−1)·(σmin^{1/ρ} − σmax^{1/ρ}))^ρ.</summary>
    public static double[] Karras(double sigmaMin, double sigmaMax, int n)
    {
        double[] ramp = NumpyMath.Linspace(0, 1, n);
        double minInvRho = Math.Pow(sigmaMin, 1 / Rho);
        double maxInvRho = Math.Pow(sigmaMax, 1 / Rho);
        return ramp.Select(r => Math.Pow(maxInvRho + (r * (minInvRho - maxInvRho)), Rho)).ToArray();
    }

    /// <summary>
    /// The fractional training timestep whose σ is <paramref name="sigma"/>: linear interpolation in
    /// log σ between the two neighbouring training σ (diffusers' _sigma_to_t).
    /// </summary>
    /// <param name="sigma">The σ to place.</param>
    /// <param name="logSigmas">log σ_t of the training timesteps in float32 (ascending with t).</param>
    public static double SigmaToT(double sigma, float[] logSigmas)
    {
        double logSigma = Math.Log(Math.Max(sigma, 1e-10));

        // The last training step whose log σ is at most log sigma (0 if none), kept below the end.
        int low = 0;
        for (int i = 0; i < logSigmas.Length; i++)
        {
            if (logSigma - logSigmas[i] >= 0)
            {
                low = i;
            }
        }

        low = Math.Min(low, logSigmas.Length - 2);
        int high = low + 1;
        double lowLog = logSigmas[low];
        double highLog = logSigmas[high];
        double w = Math.Clamp((lowLog - logSigma) / (lowLog - highLog), 0, 1);
        return ((1 - w) * low) + (w * high);
    }

    /// <summary>
    /// σ of the Euler-type schedulers (Euler, LMS, Heun) at their float timesteps: numpy.interp of the training σ, or
    /// with <paramref name="karras"/> Karras σ between σ(last timestep) and σ(first) (or the given bounds) and the
    /// timesteps moved to where those σ are (fractional, <see cref="SigmaToT"/>).
    /// </summary>
    /// <param name="trainingSigmas">σ_t of the training timesteps, float32, t = 0 first.</param>
    /// <param name="timesteps">The spaced inference timesteps, highest first; replaced when <paramref name="karras"/>.</param>
    /// <param name="karras">use_karras_sigmas.</param>
    /// <param name="sigmaMin">The smallest Karras σ, or null for the schedule's.</param>
    /// <param name="sigmaMax">The largest Karras σ, or null for the schedule's.</param>
    public static double[] Interpolated(float[] trainingSigmas, ref double[] timesteps, bool karras, double? sigmaMin = null, double? sigmaMax = null)
    {
        double[] sigmas = timesteps.Select(t => NumpyMath.Interp(t, trainingSigmas)).ToArray();
        if (!karras)
        {
            return sigmas;
        }

        sigmas = Karras(sigmaMin ?? sigmas[^1], sigmaMax ?? sigmas[0], timesteps.Length);
        float[] logSigmas = Log(trainingSigmas);
        timesteps = sigmas.Select(s => SigmaToT(s, logSigmas)).ToArray();
        return sigmas;
    }

    /// <summary>log σ_t in float32 (numpy's log of a float32 array).</summary>
    public static float[] Log(float[] sigmas) => sigmas.Select(s => MathF.Log(s)).ToArray();
}
