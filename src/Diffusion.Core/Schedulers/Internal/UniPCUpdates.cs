using Point = Diffusion.Schedulers.Internal.DpmSolverUpdates.Point;

namespace Diffusion.Schedulers.Internal;

/// <summary>
/// UniPC's predictor (UniP) and corrector (UniC) with B(h) = h or e^h − 1 (Zhao et al. 2023, "UniPC: A Unified
/// Predictor-Corrector Framework", https://arxiv.org/abs/2302.04867, Algorithms 2 and 3 in the multistep form of
/// diffusers' <c>multistep_uni_p_bh_update</c> / <c>multistep_uni_c_bh_update</c>). Scalars are float32 in diffusers'
/// order of operations; the small linear systems for the ρ weights are solved in float64 (diffusers: float32 LAPACK; the
/// two agree to float32 rounding times the system's condition, a few units for the λ ratios that occur).
/// </summary>
internal static class UniPCUpdates
{
    /// <summary>
    /// One update from s0 to t. <paramref name="previous"/> are the earlier points s1, s2, … (newest first) with their
    /// model outputs <paramref name="previousOutputs"/>; the order is their count + 1.
    /// </summary>
    /// <param name="solver">B(h).</param>
    /// <param name="predictX0">Whether outputs are x0 (data prediction) or ε.</param>
    /// <param name="t">The point stepped to.</param>
    /// <param name="s0">The point stepped from.</param>
    /// <param name="m0">The converted model output at s0.</param>
    /// <param name="previous">s1 … s_{order−1}.</param>
    /// <param name="previousOutputs">m1 … m_{order−1}.</param>
    /// <param name="x">The sample at s0.</param>
    /// <param name="modelAtT">The corrector's converted model output at t; null for the predictor.</param>
    public static Tensor Update(UniPCSolverType solver, bool predictX0, Point t, Point s0, Tensor m0, Point[] previous, Tensor[] previousOutputs, Tensor x, Tensor? modelAtT)
    {
        int order = previous.Length + 1;
        float h = t.Lambda - s0.Lambda;

        // 1. r_k = (λ_{s_k} − λ_{s0}) / h and the scaled differences D1_k = (m_k − m0) / r_k.
        var rks = new float[order];
        var d1s = new Tensor[previous.Length];
        for (int k = 0; k < previous.Length; k++)
        {
            rks[k] = (previous[k].Lambda - s0.Lambda) / h;
            d1s[k] = (previousOutputs[k] - m0) / rks[k];
        }

        rks[^1] = 1f;

        // 2. φ-functions: hφ_1(h) = e^hh − 1 and the right-hand side b_k = h φ_{k+1}(hh)·k! / B(h) (Zhao et al., eq. 8).
        float hh = predictX0 ? -h : h;
        float hPhi1 = ExpM1(hh);
        float hPhiK = (hPhi1 / hh) - 1f;
        float bH = solver == UniPCSolverType.Bh1 ? hh : ExpM1(hh);
        var r = new float[order, order];
        var b = new float[order];
        long factorial = 1;
        for (int k = 1; k <= order; k++)
        {
            for (int c = 0; c < order; c++)
            {
                r[k - 1, c] = k == 1 ? 1f : k == 2 ? rks[c] : rks[c] * rks[c];
            }

            b[k - 1] = hPhiK * factorial / bH;
            factorial *= k + 1;
            hPhiK = (hPhiK / hh) - (float)(1.0 / factorial);
        }

        // 3. The ρ weights: R ρ = b (corrector, all of it) or its leading block without t (predictor; 1/2 at order 2).
        float[] rhos;
        if (modelAtT is not null)
        {
            rhos = order == 1 ? [0.5f] : Solve(r, b, order);
        }
        else
        {
            rhos = order switch { 1 => [], 2 => [0.5f], _ => Solve(r, b, order - 1) };
        }

        // 4. x_t = σ_t/σ_s0·x − α_t·hφ_1·m0 − α_t·B(h)·Σ ρ_k D1_k (data prediction; the ε form swaps α and σ).
        Tensor xt = predictX0
            ? (x * (t.Sigma / s0.Sigma)) - (m0 * (t.Alpha * hPhi1))
            : (x * (t.Alpha / s0.Alpha)) - (m0 * (t.Sigma * hPhi1));
        float scale = predictX0 ? t.Alpha * bH : t.Sigma * bH;
        Tensor? residual = null;
        for (int k = 0; k < d1s.Length; k++)
        {
            Tensor term = d1s[k] * rhos[k];
            residual = residual is null ? term : residual + term;
        }

        if (modelAtT is not null)
        {
            Tensor d1T = (modelAtT - m0) * rhos[^1];
            residual = residual is null ? d1T : residual + d1T;
        }

        return residual is null ? xt : xt - (residual * scale);
    }

    /// <summary>e^x − 1 without cancellation for small x, rounded to float32 (torch.expm1 on a float32 tensor).</summary>
    private static float ExpM1(float x)
    {
        double v = x;
        return Math.Abs(v) < 1e-5 ? (float)(v + (v * v / 2) + (v * v * v / 6)) : (float)(Math.Exp(v) - 1);
    }

    /// <summary>Solves the leading n×n block of <paramref name="matrix"/> ρ = <paramref name="rhs"/> (Gaussian elimination, partial pivoting, float64).</summary>
    private static float[] Solve(float[,] matrix, float[] rhs, int n)
    {
        var a = new double[n, n + 1];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                a[i, j] = matrix[i, j];
            }

            a[i, n] = rhs[i];
        }

        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int row = col + 1; row < n; row++)
            {
                if (Math.Abs(a[row, col]) > Math.Abs(a[pivot, col]))
                {
                    pivot = row;
                }
            }

            for (int j = 0; j <= n; j++)
            {
                (a[col, j], a[pivot, j]) = (a[pivot, j], a[col, j]);
            }

            for (int row = col + 1; row < n; row++)
            {
                double f = a[row, col] / a[col, col];
                for (int j = col; j <= n; j++)
                {
                    a[row, j] -= f * a[col, j];
                }
            }
        }

        var x = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double s = a[i, n];
            for (int j = i + 1; j < n; j++)
            {
                s -= a[i, j] * x[j];
            }

            x[i] = s / a[i, i];
        }

        return x.Select(v => (float)v).ToArray();
    }
}
