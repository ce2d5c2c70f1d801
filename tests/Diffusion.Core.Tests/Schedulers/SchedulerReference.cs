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

    /// <summary>0 … n − 1 for the n items of <paramref name="key"/> in <paramref name="file"/>: the cases of a reference theory.</summary>
    public static IEnumerable<int> Indices(string file, string key) => Enumerable.Range(0, Load(file).GetProperty(key).GetArrayLength());

    /// <summary>
    /// Every case twice: as the reference ran it, and with its float32 inputs moved up by one ulp. The second proves the
    /// tolerances are not tighter than the computation's own sensitivity to a last-bit difference, which is what
    /// another CPU's kernels may produce.
    /// </summary>
    public static TheoryData<int, bool> IndicesWithPerturbation(string file, string key)
    {
        var data = new TheoryData<int, bool>();
        foreach (int i in Indices(file, key))
        {
            data.Add(i, false);
            data.Add(i, true);
        }

        return data;
    }

    /// <summary><paramref name="values"/> (float32) with every element one ulp up when <paramref name="perturb"/>, else themselves.</summary>
    public static Tensor OneUlpUpIf(bool perturb, Tensor values)
    {
        if (!perturb)
        {
            return values;
        }

        float[] moved = values.data<float>().ToArray().Select(MathF.BitIncrement).ToArray();
        return tensor(moved, dtype: ScalarType.Float32).reshape(values.shape);
    }

    /// <summary>A reference case's "checkpoints": the sample after step k, by k.</summary>
    public static Dictionary<int, float[]> Checkpoints(JsonElement item) =>
        item.GetProperty("checkpoints").EnumerateObject().ToDictionary(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p => Floats(p.Value));

    /// <summary>
    /// The reference scripts' sampling loop: from <paramref name="x"/>, for each of <paramref name="timesteps"/> the
    /// model on the scaled input, then a step with pseudo(shape, 1000 + k) as the noise; the sample after each
    /// checkpointed step is compared with the reference (rtol, atol).
    /// </summary>
    /// <returns>The largest relative and absolute errors over the checkpoints (for the test's output).</returns>
    public static (double Relative, double Absolute) AssertLoopMatches(INoiseScheduler scheduler, Tensor x, Tensor timesteps, Func<Tensor, double, Tensor> model,
        Dictionary<int, float[]> checkpoints, double rtol, double atol, string label)
    {
        using var outer = NewDisposeScope();
        double worst = 0, worstAbs = 0;
        for (int k = 0; k < timesteps.shape[0]; k++)
        {
            using var scope = NewDisposeScope();
            Tensor t = timesteps[k];
            double tValue = t.to_type(ScalarType.Float64).item<double>();
            Tensor modelOutput = model(scheduler.ScaleModelInput(x, t), tValue);
            x = scheduler.Step(modelOutput, t, x, varianceNoise: Pseudo(x.shape, 1000 + k)).PrevSample.MoveToOuterDisposeScope();
            if (checkpoints.TryGetValue(k, out float[]? expected))
            {
                worst = Math.Max(worst, MaxRelativeError(expected, x));
                worstAbs = Math.Max(worstAbs, MaxAbsoluteError(expected, x));
                AssertClose(expected, x, rtol, atol, $"{label} after step {k} (t={tValue})");
            }
        }

        return (worst, worstAbs);
    }

    /// <summary>A short label for a reference case.</summary>
    public static string Label(JsonElement config, JsonElement? extras = null) =>
        config.GetRawText() + (extras is { ValueKind: JsonValueKind.Object } e && e.EnumerateObject().Any() ? " + " + e.GetRawText() : string.Empty);
}
