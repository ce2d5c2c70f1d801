namespace Diffusion.Schedulers.Internal;

/// <summary>
/// β schedules and ᾱ (cumulative products) computed as diffusers and the book compute them: float32
/// torch operations where they use torch, float64 where they use Python's math module.
/// </summary>
internal static class BetaSchedules
{
    /// <summary>The betas of <paramref name="options"/>, float32, rescaled to zero terminal SNR if asked.</summary>
    public static float[] Betas(NoiseScheduleOptions options)
    {
        using var scope = NewDisposeScope();
        int n = options.NumTrainTimesteps;
        Tensor betas;
        if (options.TrainedBetas is { } trained)
        {
            betas = tensor(trained.ToArray(), dtype: ScalarType.Float32);
        }
        else
        {
            betas = options.BetaSchedule switch
            {
                BetaSchedule.Linear => linspace(options.BetaStart, options.BetaEnd, n, dtype: ScalarType.Float32),
                BetaSchedule.ScaledLinear => linspace(Math.Pow(options.BetaStart, 0.5), Math.Pow(options.BetaEnd, 0.5), n, dtype: ScalarType.Float32).square(),
                BetaSchedule.SquaredCosCapV2 => tensor(SquaredCosCapV2(n), dtype: ScalarType.Float32),
                BetaSchedule.ClippedCosine => ClippedCosine(n, options.BetaStart, options.BetaEnd),
                _ => throw new ArgumentOutOfRangeException(nameof(options), options.BetaSchedule, "unknown beta schedule"),
            };
        }

        float[] values = betas.data<float>().ToArray();
        return options.RescalesBetasToZeroSnr ? RescaleZeroTerminalSnr(values) : values;
    }

    /// <summary>ᾱ_t = ∏ (1 − β_s): torch.cumprod (float64 accumulator) as diffusers, or float32 running products (np.cumprod) for the book's schedule.</summary>
    public static float[] AlphasCumprod(float[] betas, BetaSchedule schedule)
    {
        var alphas = new float[betas.Length];
        for (int i = 0; i < betas.Length; i++)
        {
            alphas[i] = 1.0f - betas[i];
        }

        var result = new float[alphas.Length];
        if (schedule == BetaSchedule.ClippedCosine)
        {
            // The book: np.cumprod over a float32 tensor multiplies in float32.
            float product = 1.0f;
            for (int i = 0; i < alphas.Length; i++)
            {
                product *= alphas[i];
                result[i] = product;
            }
        }
        else
        {
            // diffusers: torch.cumprod on CPU accumulates float32 in float64 and rounds each output.
            double product = 1.0;
            for (int i = 0; i < alphas.Length; i++)
            {
                product *= alphas[i];
                result[i] = (float)product;
            }
        }

        return result;
    }

    /// <summary>diffusers' betas_for_alpha_bar (cosine, max β 0.999): float64 maths, then float32.</summary>
    private static float[] SquaredCosCapV2(int n)
    {
        static double AlphaBar(double t) => Math.Pow(Math.Cos((t + 0.008) / 1.008 * Math.PI / 2), 2);

        var betas = new float[n];
        for (int i = 0; i < n; i++)
        {
            double t1 = (double)i / n;
            double t2 = (double)(i + 1) / n;
            betas[i] = (float)Math.Min(1 - (AlphaBar(t2) / AlphaBar(t1)), 0.999);
        }

        return betas;
    }

    /// <summary>The book's cosine_beta_schedule (s = 0.008) in float32 torch operations, β clipped to [βstart, βend].</summary>
    private static Tensor ClippedCosine(int n, double betaStart, double betaEnd)
    {
        const double S = 0.008;
        Tensor x = linspace(0, n, n + 1, dtype: ScalarType.Float32);
        Tensor alphasCumprod = ((((x / n) + S) / (1 + S)) * Math.PI * 0.5).cos().square();
        alphasCumprod = alphasCumprod / alphasCumprod[0];
        Tensor betas = 1 - (Tail(alphasCumprod) / Head(alphasCumprod));
        return betas.clamp(betaStart, betaEnd);
    }

    /// <summary>
    /// Algorithm 1 of Lin et al. 2023 (zero terminal SNR): diffusers' float32 torch operations, one IEEE float32
    /// operation at a time in managed code.
    /// </summary>
    /// <remarks>
    /// Not done with libtorch: its float32 <c>sqrt</c> is not correctly rounded on every CPU (on an AMD EPYC, family 26,
    /// about one value in five came back one ulp off, whichever kernel set was forced), and this algorithm is
    /// ill-conditioned at both ends. ᾱ₀ comes back as ((√ᾱ₀ − √ᾱ_T)·(√ᾱ₀ / (√ᾱ₀ − √ᾱ_T)))², three roundings from
    /// ᾱ₀, and add_noise at t = 0 then uses √(1 − ᾱ₀), where 1 − ᾱ₀ ≈ 4e-5: one ulp of ᾱ₀ (6e-8) moves that
    /// coefficient by 6e-8 / 4e-5 / 2 ≈ 7e-4 relative, 5e-6 absolute on a noise of 1.5. So the schedule must be the
    /// same bits as diffusers', not merely close: C# <c>float</c> arithmetic and <see cref="MathF.Sqrt"/> are IEEE
    /// correctly rounded on every x86-64 CPU, as is the reference (PyTorch 1.13), and torch.cumprod accumulates in
    /// float64 (as <see cref="AlphasCumprod"/> does).
    /// </remarks>
    private static float[] RescaleZeroTerminalSnr(float[] betas)
    {
        int n = betas.Length;
        var alphasBarSqrt = new float[n];
        double product = 1.0;
        for (int i = 0; i < n; i++)
        {
            product *= 1.0f - betas[i];
            alphasBarSqrt[i] = MathF.Sqrt((float)product);
        }

        float first = alphasBarSqrt[0];
        float last = alphasBarSqrt[n - 1];
        // Shift so the last timestep is zero, then scale so the first is back to its old value (diffusers' order:
        // subtract, then multiply by the float32 ratio first / (first − last)).
        float scale = first / (first - last);
        var alphasBar = new float[n];
        for (int i = 0; i < n; i++)
        {
            float shifted = (alphasBarSqrt[i] - last) * scale;
            alphasBar[i] = shifted * shifted;
        }

        var rescaled = new float[n];
        rescaled[0] = 1.0f - alphasBar[0];
        for (int i = 1; i < n; i++)
        {
            rescaled[i] = 1.0f - (alphasBar[i] / alphasBar[i - 1]);
        }

        return rescaled;
    }

    /// <summary>x[1:] of a 1-D tensor.</summary>
    private static Tensor Tail(Tensor x) => x.narrow(0, 1, x.shape[0] - 1);

    /// <summary>x[:-1] of a 1-D tensor.</summary>
    private static Tensor Head(Tensor x) => x.narrow(0, 0, x.shape[0] - 1);
}
