using System.Text.Json;
using Diffusion.Clip;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Metrics;

/// <summary>
/// <see cref="FrechetDistance"/> against closed forms and against pytorch-fid's formula evaluated with
/// scipy.linalg.sqrtm (tools/reference/frechet.py → tests/reference/clip/frechet.json).
/// </summary>
public sealed class FrechetDistanceTests
{
    private const double Epsilon = 2.220446049250313e-16; // float64 machine epsilon

    public static TheoryData<int> ReferenceCases => [0, 1, 2, 3];

    [Fact]
    public void AxisAlignedSetsGiveTheClosedForm()
    {
        // Set k holds μₖ ± aₖᵢ·eᵢ for every axis i (N = 2D points): its mean is exactly μₖ and its covariance
        // exactly diag(2aₖᵢ²/(N − 1)). The covariances commute, so d² = ‖μ₁ − μ₂‖² + Σᵢ (√s₁ᵢ − √s₂ᵢ)²
        // = ‖μ₁ − μ₂‖² + 2/(N − 1)·Σᵢ (a₁ᵢ − a₂ᵢ)².
        double[] a1 = [1.0, 0.5, 2.0, 0.25, 1.5];
        double[] a2 = [0.5, 0.5, 1.0, 1.25, 3.0];
        double[] mu1 = [0.1, -0.2, 0.3, 0.0, 1.0];
        double[] mu2 = [-0.4, 0.2, 0.3, 0.5, 0.0];
        using var scope = NewDisposeScope();
        Tensor first = AxisSet(mu1, a1), second = AxisSet(mu2, a2);
        int n = 2 * a1.Length;
        double expected = mu1.Zip(mu2, (x, y) => (x - y) * (x - y)).Sum() + (2.0 / (n - 1) * a1.Zip(a2, (x, y) => (x - y) * (x - y)).Sum());

        double actual = FrechetDistance.Compute(first, second);

        // Each term is O(1) and the eigendecompositions of these well-conditioned 5×5 matrices are backward
        // stable: errors of a few ε × D × ‖Σ‖ ≈ 1e-14. 1e-12 leaves a wide margin and still catches any
        // wrong factor (N vs N − 1 would change the result by 10%).
        Assert.Equal(expected, actual, 1e-12);
    }

    [Fact]
    public void RotatingBothSetsChangesNothing()
    {
        // d² is invariant under a common rotation x → Qx: the same closed form with full, non-diagonal covariances.
        double[] a1 = [1.0, 0.5, 2.0, 0.25];
        double[] a2 = [2.0, 0.5, 0.5, 1.0];
        double[] mu1 = [0.0, 1.0, 0.0, 0.0];
        double[] mu2 = [0.5, 0.0, 0.0, -0.5];
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        Tensor q = linalg.qr(randn([4, 4], dtype: float64, generator: generator)).Q;
        double axisAligned = FrechetDistance.Compute(AxisSet(mu1, a1), AxisSet(mu2, a2));

        double rotated = FrechetDistance.Compute(AxisSet(mu1, a1).matmul(q.t()), AxisSet(mu2, a2).matmul(q.t()));

        Assert.Equal((0.25 + 1 + 0.25) + (2.0 / 7 * (1 + 0 + 2.25 + 0.5625)), axisAligned, 1e-12);
        Assert.Equal(axisAligned, rotated, 1e-12); // same error budget as above
    }

    [Fact]
    public void IdenticalSetsAreAtZeroAndAShiftCostsItsSquaredLength()
    {
        using var scope = NewDisposeScope();
        Tensor x = randn([40, 6], generator: new Generator(3)); // float32 input is accepted and widened
        Tensor shift = tensor(new float[] { 0.5f, 0, 0, -1, 0, 0.25f });

        Assert.Equal(0, FrechetDistance.Compute(x, x.clone()), 1e-12);
        // Shifting one set leaves its covariance as it was: d² = ‖shift‖² = 1.3125 (exact in float32). The
        // shifted float32 values round by ≤ 2⁻²⁴ relative, which moves the covariance by about 1e-7.
        Assert.Equal(1.3125, FrechetDistance.Compute(x, x + shift), 1e-5);
    }

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void MatchesScipySqrtm(int index)
    {
        JsonElement c = ReferenceJson.Read("clip", "frechet.json").GetProperty("cases")[index];
        using var scope = NewDisposeScope();
        Tensor first = ReferenceJson.Tensor(c.GetProperty("first"));   // float32 values, exact in the JSON
        Tensor second = ReferenceJson.Tensor(c.GetProperty("second"));
        double expected = c.GetProperty("distance").GetDouble();
        long d = first.shape[1];
        double traces = Covariance(first).trace().item<double>() + Covariance(second).trace().item<double>();

        // Full rank (N > D, covariances with condition numbers below 1e3): both sides are float64 and
        // backward stable, so they differ by about κ·D·ε·(Tr Σ₁ + Tr Σ₂) ≤ 1e3 · 24 · 2.2e-16 ≈ 5e-12 of the
        // traces; 1e-10 of the traces leaves a 20× margin (measured 1e-14 absolute). Singular (N ≤ D): up to
        // D eigenvalues of Σ₁^½Σ₂Σ₁^½ are pure rounding, |δ| ≲ D·ε·Tr, and each adds √δ to Tr(·)^½ on either
        // side (scipy's Schur square root suffers the same), so the budget is 2·D·√(D·ε·Tr) (measured 1e-7).
        double tolerance = c.GetProperty("full_rank").GetBoolean()
            ? 1e-10 * traces
            : 2 * d * Math.Sqrt(d * Epsilon * traces);

        double actual = FrechetDistance.Compute(first, second);

        Assert.True(Math.Abs(actual - expected) <= tolerance,
            $"{c.GetProperty("name").GetString()}: {actual} vs scipy {expected}, difference {Math.Abs(actual - expected):G3} > tolerance {tolerance:G3}");
    }

    [Fact]
    public void InputsAreValidated()
    {
        using var scope = NewDisposeScope();
        Tensor good = zeros(4, 3);
        var e = Assert.Throws<ArgumentException>(() => FrechetDistance.Compute(zeros(1, 3), good));
        Assert.Equal("first must be [N, D] embeddings with N ≥ 2 and D ≥ 1; got [1,3]. (Parameter 'first')", e.Message);
        e = Assert.Throws<ArgumentException>(() => FrechetDistance.Compute(good, zeros(4, 5)));
        Assert.Equal("second must have the same embedding size as first (3); got [4,5]. (Parameter 'second')", e.Message);
        e = Assert.Throws<ArgumentException>(() => FrechetDistance.Compute(good, full(4, 3, float.NaN)));
        Assert.Equal("second must hold only finite values; it holds NaN or infinity. (Parameter 'second')", e.Message);
        e = Assert.Throws<ArgumentException>(() => FrechetDistance.Compute(good, zeros([4, 3], dtype: int64)));
        Assert.Equal("second must be a floating-point tensor; got Int64. (Parameter 'second')", e.Message);
        Assert.Throws<ArgumentException>(() => FrechetDistance.Compute(zeros(4), good));
    }

    [Fact]
    public void ImagesAreEmbeddedWithTheClipModel()
    {
        // The image overload equals embedding with EncodeImages and comparing the embeddings, whatever the batch size.
        torch.manual_seed(11);
        using var clip = new ClipModel(ClipConfig.Tiny(vocabSize: 100, imageSize: 16, contextLength: 8));
        using var scope = NewDisposeScope();
        Tensor images1 = rand([5, 3, 20, 20], generator: new Generator(1));
        Tensor images2 = rand([7, 3, 16, 16], generator: new Generator(2));
        double expected = FrechetDistance.Compute(clip.EncodeImages(images1), clip.EncodeImages(images2));

        double actual = FrechetDistance.Compute(clip, images1, images2, batchSize: 2);

        Assert.True(expected > 0);
        // Same float32 embeddings up to batch-size-dependent kernel rounding (a few ulp of unit vectors,
        // ≈ 1e-7); d² is Lipschitz in them with a constant of order 1 here.
        Assert.Equal(expected, actual, 1e-5);
        var e = Assert.Throws<ArgumentException>(() => FrechetDistance.Compute(clip, images1, zeros(1, 3, 16, 16)));
        Assert.Equal("second must be [N, 3, H, W] pixels with N ≥ 2; got [1,3,16,16]. (Parameter 'second')", e.Message);
    }

    private static Tensor AxisSet(double[] mean, double[] halfWidth)
    {
        int d = mean.Length;
        var rows = new List<double[]>();
        for (int i = 0; i < d; i++)
        {
            foreach (int sign in new[] { 1, -1 })
            {
                double[] row = (double[])mean.Clone();
                row[i] += sign * halfWidth[i];
                rows.Add(row);
            }
        }

        return tensor(rows.SelectMany(r => r).ToArray(), [rows.Count, d], dtype: float64);
    }

    private static Tensor Covariance(Tensor x)
    {
        Tensor x64 = x.to(float64);
        Tensor centred = x64 - x64.mean([0]);
        return centred.t().matmul(centred) / (x.shape[0] - 1);
    }
}
