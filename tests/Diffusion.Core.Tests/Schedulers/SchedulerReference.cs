using System.Text.Json;
using System.Text.Json.Nodes;
using Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Schedulers;

/// <summary>
/// The reference files of tests/reference/schedulers (made by tools/reference/schedulers.py from diffusers'
/// scheduler files and the book's DDIMScheduler) and the input formulas the script documents.
/// </summary>
internal static class SchedulerReference
{
    private static readonly Dictionary<string, JsonElement> Cache = [];
    private static readonly Lock CacheLock = new();

    /// <summary>The root object of tests/reference/schedulers/<paramref name="file"/>.</summary>
    public static JsonElement Load(string file)
    {
        lock (CacheLock)
        {
            if (!Cache.TryGetValue(file, out JsonElement root))
            {
                string path = Path.Combine(TestEnvironment.ReferenceDir, "schedulers", file);
                root = JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();
                Cache[file] = root;
            }

            return root;
        }
    }

    /// <summary>pseudo(shape, seed)[i] = float32(1.5·sin(12.9898·(i + 1) + 78.233·seed)).</summary>
    public static Tensor Pseudo(long[] shape, int seed)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[n];
        for (long i = 0; i < n; i++)
        {
            values[i] = (float)(1.5 * Math.Sin((12.9898 * (i + 1)) + (78.233 * seed)));
        }

        return tensor(values, dtype: ScalarType.Float32).reshape(shape);
    }

    /// <summary>The stand-in model: x·(0.1·cos(t/100)) + 0.05·sin(t/50).</summary>
    public static Tensor Model(Tensor x, double t) => (x * (0.1 * Math.Cos(t / 100.0))) + (0.05 * Math.Sin(t / 50.0));

    /// <summary>A model with a learned variance: [model(x, t), clamp(x, −1, 1)·(0.2·cos(t/70)) + 0.25] along channels.</summary>
    public static Tensor Learned(Tensor x, double t) =>
        cat([Model(x, t), (x.clamp(-1.0, 1.0) * (0.2 * Math.Cos(t / 70.0))) + 0.25], 1);

    /// <summary>Whether a reference config has a learned variance.</summary>
    public static bool IsLearned(JsonElement config) =>
        config.TryGetProperty("variance_type", out JsonElement v) && v.GetString() is "learned" or "learned_range";

    /// <summary>The scheduler of a reference config (diffusers kwargs + "_class_name"), with our extras (eta, …) merged in.</summary>
    public static INoiseScheduler Create(JsonElement config, JsonElement? extras = null)
    {
        var node = JsonNode.Parse(config.GetRawText())!.AsObject();
        if (extras is { ValueKind: JsonValueKind.Object } e)
        {
            foreach (JsonProperty p in e.EnumerateObject())
            {
                node[p.Name] = JsonNode.Parse(p.Value.GetRawText());
            }
        }

        return SchedulerConfig.FromJson(node.ToJsonString());
    }

    public static float[] Floats(JsonElement array) => array.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();

    public static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    public static long[] Longs(JsonElement array) => array.EnumerateArray().Select(v => v.GetInt64()).ToArray();

    public static Tensor Tensor(JsonElement array, long[] shape) => tensor(Floats(array), dtype: ScalarType.Float32).reshape(shape);

    /// <summary>Element-wise |actual − expected| ≤ atol + rtol·|expected|, reporting the worst element.</summary>
    public static void AssertClose(float[] expected, Tensor actual, double rtol, double atol, string context)
    {
        float[] got = actual.detach().cpu().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
        AssertClose(expected, got, rtol, atol, context);
    }

    public static void AssertClose(float[] expected, float[] got, double rtol, double atol, string context)
    {
        Assert.True(expected.Length == got.Length, $"{context}: {got.Length} values, expected {expected.Length}");
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs((double)got[i] - expected[i]);
            double allowed = atol + (rtol * Math.Abs(expected[i]));
            bool bad = double.IsNaN(got[i]) != double.IsNaN(expected[i]) || diff > allowed;
            if (bad && (worst < 0 || diff - allowed > worstExcess))
            {
                worst = i;
                worstExcess = diff - allowed;
            }
        }

        Assert.True(worst < 0, worst < 0 ? string.Empty : $"{context}: element {worst} is {got[worst]:R}, expected {expected[worst]:R} (|diff| {Math.Abs((double)got[worst] - expected[worst]):E2}, rtol {rtol}, atol {atol})");
    }

    /// <summary>The largest relative error (for reporting what was measured).</summary>
    public static double MaxRelativeError(float[] expected, Tensor actual, double floor = 1e-3)
    {
        float[] got = actual.detach().cpu().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
        double max = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            max = Math.Max(max, Math.Abs((double)got[i] - expected[i]) / Math.Max(Math.Abs(expected[i]), floor));
        }

        return max;
    }

    /// <summary>The largest absolute error (for reporting what was measured).</summary>
    public static double MaxAbsoluteError(float[] expected, Tensor actual)
    {
        float[] got = actual.detach().cpu().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
        return expected.Zip(got).Max(p => Math.Abs((double)p.First - p.Second));
    }

    /// <summary><paramref name="values"/> with every float32 element moved up one ulp when <paramref name="perturb"/> (what another CPU's last bit may do).</summary>
    public static Tensor OneUlpUpIf(bool perturb, Tensor values)
    {
        if (!perturb)
        {
            return values;
        }

        float[] moved = values.data<float>().ToArray().Select(MathF.BitIncrement).ToArray();
        return tensor(moved, dtype: ScalarType.Float32).reshape(values.shape);
    }

    /// <summary>A short label for a reference case.</summary>
    public static string Label(JsonElement config, JsonElement? extras = null) =>
        config.GetRawText() + (extras is { ValueKind: JsonValueKind.Object } e && e.EnumerateObject().Any() ? " + " + e.GetRawText() : string.Empty);
}
