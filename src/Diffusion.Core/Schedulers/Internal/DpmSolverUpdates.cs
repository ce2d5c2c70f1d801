namespace Diffusion.Schedulers.Internal;

/// <summary>
/// The multistep DPM-Solver updates (Lu et al. 2022a, https://arxiv.org/abs/2206.00927, and DPM-Solver++ 2022b,
/// https://arxiv.org/abs/2211.01095) from a point s to t in λ = log(α/σ), with float32 scalars in diffusers'
/// order of operations. "++" variants take x0 predictions D, the others ε predictions.
/// </summary>
internal static class DpmSolverUpdates
{
    /// <summary>One point of the schedule: α_t = 1/√(σ² + 1), σ_t = σ·α_t and λ_t = log α_t − log σ_t (σ is the VE sigma).</summary>
    internal readonly record struct Point(float Alpha, float Sigma, float Lambda)
    {
        public static Point At(float sigma)
        {
            float alpha = 1f / MathF.Sqrt((sigma * sigma) + 1);
            float sigmaT = sigma * alpha;
            return new Point(alpha, sigmaT, MathF.Log(alpha) - MathF.Log(sigmaT));
        }
    }

    /// <summary>First order (= DDIM): ++ eq. (5) of 2022b, x_t = σ_t/σ_s·x_s − α_t(e^{−h} − 1)·D.</summary>
    public static Tensor FirstOrder(DpmSolverAlgorithmType algorithm, Point t, Point s, Tensor sample, Tensor m0, Tensor? noise)
    {
        float h = t.Lambda - s.Lambda;
        return algorithm switch
        {
            DpmSolverAlgorithmType.DpmSolverPlusPlus =>
                (sample * (t.Sigma / s.Sigma)) - (m0 * (t.Alpha * (MathF.Exp(-h) - 1.0f))),
            DpmSolverAlgorithmType.DpmSolver =>
                (sample * (t.Alpha / s.Alpha)) - (m0 * (t.Sigma * (MathF.Exp(h) - 1.0f))),
            DpmSolverAlgorithmType.SdeDpmSolverPlusPlus =>
                (sample * (t.Sigma / s.Sigma * MathF.Exp(-h))) + (m0 * (t.Alpha * (1 - MathF.Exp(-2.0f * h)))) + SdeNoise(t, h, noise, plusPlus: true),
            DpmSolverAlgorithmType.SdeDpmSolver =>
                (sample * (t.Alpha / s.Alpha)) - (m0 * (2.0f * (t.Sigma * (MathF.Exp(h) - 1.0f)))) + SdeNoise(t, h, noise, plusPlus: false),
            _ => throw new InvalidOperationException($"Unknown algorithm {algorithm}."),
        };
    }

    /// <summary>Second-order multistep update from the last two model outputs (2022b Algorithm 2, midpoint or Heun).</summary>
    public static Tensor SecondOrder(DpmSolverAlgorithmType algorithm, DpmSolverType solver, Point t, Point s0, Point s1, Tensor sample, Tensor m0, Tensor m1, Tensor? noise)
    {
        float h = t.Lambda - s0.Lambda;
        float h0 = s0.Lambda - s1.Lambda;
        float r0 = h0 / h;
        Tensor d0 = m0;
        Tensor d1 = (m0 - m1) * (1.0f / r0);
        bool heun = solver == DpmSolverType.Heun;
        switch (algorithm)
        {
            case DpmSolverAlgorithmType.DpmSolverPlusPlus:
                {
                    float phi = t.Alpha * (MathF.Exp(-h) - 1.0f);
                    Tensor x = (sample * (t.Sigma / s0.Sigma)) - (d0 * phi);
                    return heun ? x + (d1 * (t.Alpha * (((MathF.Exp(-h) - 1.0f) / h) + 1.0f))) : x - (d1 * (0.5f * phi));
                }

            case DpmSolverAlgorithmType.DpmSolver:
                {
                    float phi = t.Sigma * (MathF.Exp(h) - 1.0f);
                    Tensor x = (sample * (t.Alpha / s0.Alpha)) - (d0 * phi);
                    return heun ? x - (d1 * (t.Sigma * (((MathF.Exp(h) - 1.0f) / h) - 1.0f))) : x - (d1 * (0.5f * phi));
                }

            case DpmSolverAlgorithmType.SdeDpmSolverPlusPlus:
                {
                    float phi = t.Alpha * (1 - MathF.Exp(-2.0f * h));
                    Tensor x = (sample * (t.Sigma / s0.Sigma * MathF.Exp(-h))) + (d0 * phi);
                    x = heun ? x + (d1 * (t.Alpha * (((1.0f - MathF.Exp(-2.0f * h)) / (-2.0f * h)) + 1.0f))) : x + (d1 * (0.5f * phi));
                    return x + SdeNoise(t, h, noise, plusPlus: true);
                }

            case DpmSolverAlgorithmType.SdeDpmSolver:
                {
                    float phi = t.Sigma * (MathF.Exp(h) - 1.0f);
                    Tensor x = (sample * (t.Alpha / s0.Alpha)) - (d0 * (2.0f * phi));
                    x = heun ? x - (d1 * (2.0f * (t.Sigma * (((MathF.Exp(h) - 1.0f) / h) - 1.0f)))) : x - (d1 * phi);
                    return x + SdeNoise(t, h, noise, plusPlus: false);
                }

            default:
                throw new InvalidOperationException($"Unknown algorithm {algorithm}.");
        }
    }

    /// <summary>Third-order multistep update from the last three model outputs (2022a Algorithm 3 / 2022b).</summary>
    public static Tensor ThirdOrder(DpmSolverAlgorithmType algorithm, Point t, Point s0, Point s1, Point s2, Tensor sample, Tensor m0, Tensor m1, Tensor m2, Tensor? noise)
    {
        float h = t.Lambda - s0.Lambda;
        float h0 = s0.Lambda - s1.Lambda;
        float h1 = s1.Lambda - s2.Lambda;
        float r0 = h0 / h;
        float r1 = h1 / h;
        Tensor d0 = m0;
        Tensor d10 = (m0 - m1) * (1.0f / r0);
        Tensor d11 = (m1 - m2) * (1.0f / r1);
        Tensor d1 = d10 + ((d10 - d11) * (r0 / (r0 + r1)));
        Tensor d2 = (d10 - d11) * (1.0f / (r0 + r1));
        switch (algorithm)
        {
            case DpmSolverAlgorithmType.DpmSolverPlusPlus:
                return (sample * (t.Sigma / s0.Sigma))
                    - (d0 * (t.Alpha * (MathF.Exp(-h) - 1.0f)))
                    + (d1 * (t.Alpha * (((MathF.Exp(-h) - 1.0f) / h) + 1.0f)))
                    - (d2 * (t.Alpha * (((MathF.Exp(-h) - 1.0f + h) / (h * h)) - 0.5f)));
            case DpmSolverAlgorithmType.DpmSolver:
                return (sample * (t.Alpha / s0.Alpha))
                    - (d0 * (t.Sigma * (MathF.Exp(h) - 1.0f)))
                    - (d1 * (t.Sigma * (((MathF.Exp(h) - 1.0f) / h) - 1.0f)))
                    - (d2 * (t.Sigma * (((MathF.Exp(h) - 1.0f - h) / (h * h)) - 0.5f)));
            case DpmSolverAlgorithmType.SdeDpmSolverPlusPlus:
                float twoH = 2.0f * h;
                return (sample * (t.Sigma / s0.Sigma * MathF.Exp(-h)))
                    + (d0 * (t.Alpha * (1.0f - MathF.Exp(-2.0f * h))))
                    + (d1 * (t.Alpha * (((1.0f - MathF.Exp(-2.0f * h)) / (-2.0f * h)) + 1.0f)))
                    + (d2 * (t.Alpha * (((1.0f - MathF.Exp(-2.0f * h) - (2.0f * h)) / (twoH * twoH)) - 0.5f)))
                    + SdeNoise(t, h, noise, plusPlus: true);
            default:
                throw new InvalidOperationException($"No third-order update for {algorithm}.");
        }
    }

    /// <summary>The SDE noise term: σ_t·√(1 − e^{−2h})·z (++) or σ_t·√(e^{2h} − 1)·z.</summary>
    private static Tensor SdeNoise(Point t, float h, Tensor? noise, bool plusPlus)
    {
        float scale = plusPlus ? t.Sigma * MathF.Sqrt(1.0f - MathF.Exp(-2 * h)) : t.Sigma * MathF.Sqrt(MathF.Exp(2 * h) - 1.0f);
        return noise! * scale;
    }
}
