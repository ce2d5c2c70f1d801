using System.Text.Json;
using Diffusion.Models;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models;

/// <summary>Both embeddings against values from the book's and diffusers' Python functions (tools/reference/unet_reference.py).</summary>
public sealed class TimestepEmbeddingTests
{
    // Both sides follow the same float32 steps, but exp, sin and cos come from different builds
    // (PyTorch 1.13 vs libtorch 2.10, SLEEF vs libm): a frequency may differ by one float32 ulp, and
    // t · f · scale then by about three ulps of the argument (exp, the product, the scale). sin and cos
    // pass that on times a derivative of at most 1, so element e may differ by
    // 3 · 2^-23 · |t · f_i · scale| plus 2e-6 for the functions' own last-bit differences.
    private const double ArgumentUlps = 3 * 1.1920928955078125e-7;
    private const double FunctionError = 2e-6;

    private static readonly JsonElement Reference =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestEnvironment.ReferenceDir, "unet", "timestep_embeddings.json"))).RootElement;

    public static TheoryData<int> Cases()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Reference.GetProperty("cases").GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesThePythonFunction(int index)
    {
        using var scope = NewDisposeScope();
        JsonElement c = Reference.GetProperty("cases")[index];
        long[] steps = Reference.GetProperty("timesteps").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Tensor t = tensor(steps);
        int dim = c.GetProperty("dim").GetInt32();
        Tensor actual = c.GetProperty("function").GetString() == "book"
            ? TimestepEmbedding.Sinusoidal(t, dim)
            : TimestepEmbedding.Diffusers(
                t,
                dim,
                c.GetProperty("flip_sin_to_cos").GetBoolean(),
                c.GetProperty("downscale_freq_shift").GetDouble(),
                c.GetProperty("scale").GetDouble(),
                c.GetProperty("max_period").GetInt32());

        float[] expected = c.GetProperty("values").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        Assert.Equal([steps.Length, (long)dim], actual.shape);
        Assert.Equal(ScalarType.Float32, actual.dtype);
        float[] values = actual.data<float>().ToArray();
        bool isBook = c.GetProperty("function").GetString() == "book";
        double shift = isBook ? 1 : c.GetProperty("downscale_freq_shift").GetDouble();
        double scale = isBook ? 1 : c.GetProperty("scale").GetDouble();
        double maxPeriod = isBook ? 10000 : c.GetProperty("max_period").GetInt32();
        int half = dim / 2;
        for (int e = 0; e < values.Length; e++)
        {
            int column = e % dim;
            double argument = column >= 2 * half
                ? 0
                : steps[e / dim] * Math.Exp(-Math.Log(maxPeriod) * (column % half) / (half - shift)) * scale;
            double tolerance = FunctionError + ArgumentUlps * Math.Abs(argument);
            Assert.True(
                Math.Abs(values[e] - expected[e]) <= tolerance,
                $"element {e} (t = {steps[e / dim]}, column {column}): {values[e]:R} vs {expected[e]:R}, tolerance {tolerance:E2}");
        }
    }

    [Fact]
    public void BookEmbeddingIsDiffusersWithItsDefaults()
    {
        using var scope = NewDisposeScope();
        Tensor t = tensor(new long[] { 3, 500 });
        Assert.True(TimestepEmbedding.Sinusoidal(t, 16).allclose(TimestepEmbedding.Diffusers(t, 16), rtol: 0, atol: 0));
    }

    [Fact]
    public void InvalidArgumentsAreRejectedWithClearMessages()
    {
        using var scope = NewDisposeScope();
        var e1 = Assert.Throws<ArgumentException>(() => TimestepEmbedding.Sinusoidal(zeros(2, 2, dtype: int64), 8));
        Assert.StartsWith("timesteps must be a 1-D tensor [N]; got shape [2,2].", e1.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => TimestepEmbedding.Sinusoidal(zeros(2, dtype: int64), 7));
        Assert.StartsWith("dim must be even and at least 4; got 7.", e2.Message, StringComparison.Ordinal);
        var e3 = Assert.Throws<ArgumentException>(() => TimestepEmbedding.Diffusers(zeros(2, dtype: int64), 2));
        Assert.StartsWith("dim / 2 - downscaleFreqShift must not be 0", e3.Message, StringComparison.Ordinal);
        var e4 = Assert.Throws<ArgumentException>(() => TimestepEmbedding.Sinusoidal(zeros(2, dtype: ScalarType.Bool), 8));
        Assert.StartsWith("timesteps must be an integer or floating tensor; got Bool.", e4.Message, StringComparison.Ordinal);
    }
}
