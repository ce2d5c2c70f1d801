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

    /// <summary>σ evenly spaced in log σ from σmax down to σmin (diffusers' _convert_to_exponential: exp of a numpy linspace of the logs).</summary>
    public static double[] Exponential(double sigmaMin, double sigmaMax, int n) =>
        NumpyMath.Linspace(Math.Log(sigmaMax), Math.Log(sigmaMin), n).Select(Math.Exp).ToArray();

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
    /// σ of the Euler-type schedulers (Euler, LMS, Heun) at their float timesteps: numpy.interp of the training σ, or,
    /// for a Karras or exponential <paramref name="spread"/>, those σ between σ(last timestep) and σ(first) (or the given
    /// bounds) with the timesteps moved to where they are (fractional, <see cref="SigmaToT"/>).
    /// </summary>
    /// <param name="trainingSigmas">σ_t of the training timesteps, float32, t = 0 first.</param>
    /// <param name="timesteps">The spaced inference timesteps, highest first; replaced for Karras or exponential σ.</param>
    /// <param name="spread">Plain interpolation, Karras or exponential σ.</param>
    /// <param name="sigmaMin">The smallest σ, or null for the schedule's.</param>
    /// <param name="sigmaMax">The largest σ, or null for the schedule's.</param>
    public static double[] Interpolated(float[] trainingSigmas, ref double[] timesteps, SigmaSpread spread, double? sigmaMin = null, double? sigmaMax = null)
    {
        double[] sigmas = timesteps.Select(t => NumpyMath.Interp(t, trainingSigmas)).ToArray();
        if (spread == SigmaSpread.Interpolated)
        {
            return sigmas;
        }

        sigmas = Spread(spread, sigmaMin ?? sigmas[^1], sigmaMax ?? sigmas[0], timesteps.Length);
        timesteps = PlaceTimesteps(sigmas, trainingSigmas);
        return sigmas;
    }

    /// <summary>The fractional training timestep of each σ (<see cref="SigmaToT"/> over the training σ, t = 0 first).</summary>
    public static double[] PlaceTimesteps(double[] sigmas, float[] trainingSigmas)
    {
        float[] logSigmas = Log(trainingSigmas);
        return sigmas.Select(s => SigmaToT(s, logSigmas)).ToArray();
    }

    /// <summary>Karras or exponential σ from <paramref name="sigmaMax"/> down to <paramref name="sigmaMin"/>.</summary>
    public static double[] Spread(SigmaSpread spread, double sigmaMin, double sigmaMax, int n) => spread switch
    {
        SigmaSpread.Karras => Karras(sigmaMin, sigmaMax, n),
        SigmaSpread.Exponential => Exponential(sigmaMin, sigmaMax, n),
        _ => throw new ArgumentOutOfRangeException(nameof(spread), spread, null),
    };

    /// <summary>The σ spread an options record asks for (use_karras_sigmas / use_exponential_sigmas; the rules allow one).</summary>
    public static SigmaSpread SpreadOf(bool karras, bool exponential) =>
        karras ? SigmaSpread.Karras : exponential ? SigmaSpread.Exponential : SigmaSpread.Interpolated;

    /// <summary>log σ_t in float32 (numpy's log of a float32 array).</summary>
    public static float[] Log(float[] sigmas) => sigmas.Select(s => MathF.Log(s)).ToArray();
}

/// <summary>How inference σ are spread: at the spaced timesteps, or Karras / exponential σ with timesteps placed by σ.</summary>
internal enum SigmaSpread
{
    Interpolated,
    Karras,
    Exponential,
}
