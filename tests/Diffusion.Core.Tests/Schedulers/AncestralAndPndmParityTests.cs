using System.Globalization;
using System.Text.Json;
using Diffusion.Schedulers;
using TorchSharp;
using Xunit.Abstractions;
using static Diffusion.Tests.Schedulers.SchedulerReference;
using static TorchSharp.torch;

namespace Diffusion.Tests.Schedulers;

/// <summary>
/// <see cref="EulerAncestralDiscreteScheduler"/> and <see cref="PNDMScheduler"/> against diffusers' own files
/// (58eb52c, run by tools/reference/schedulers_euler_a_pndm.py; euler_a_pndm.json), with the reference's ancestral
/// noise injected as varianceNoise, and the scheduler_config.json files diffusers saved for them.
/// </summary>
/// <remarks>
/// <para>Tolerances, as <see cref="StepParityTests"/>. A step is the same float32 operations in diffusers' order with
/// scalars from C# float arithmetic (IEEE-identical to torch 1.13's correctly rounded 0-dim float32 maths; no
/// tensor sqrt, whose last bit differs between CPUs under libtorch 2.10): a chain of ≤ 8 element-wise products and
/// sums of terms ≤ ~2 in magnitude (Euler ancestral's σ-scaled samples reach ~15), each adding at most one ulp, so
/// rtol 1e-5 (84 ulp) with atol 1e-6 (8 ulp of 1) for elements that cancel towards 0. PNDM's steps are checked one
/// at a time: each is fed the reference's input sample, so its history holds model outputs of identical inputs and
/// nothing carries over from earlier steps' rounding. Every step case also runs with its inputs one ulp up, which
/// must pass the same bounds (the tolerance is not tighter than one last-bit difference of another CPU).</para>
/// <para>Loops (20–50 steps) feed each step's rounding into the next. Euler ancestral's map x ↦ x + (σ_down − σ)·d
/// scales an input error by at most |σ_down/σ| ≤ 1 plus the stand-in model's 0.1·|σ − σ_down| term, and PNDM's by
/// √(ᾱ_prev/ᾱ_t) times a bounded ε combination, so errors grow about linearly: 50 steps × a few ulp ≈ 1e-5 relative
/// at worst, within rtol 1e-4 (atol 1e-5 for elements near 0; Euler ancestral's σ-space samples reach ~15).</para>
/// </remarks>
public sealed class AncestralAndPndmParityTests(ITestOutputHelper output)
{
    private const string File = "euler_a_pndm.json";
    private const double StepRtol = 1e-5;
    private const double StepAtol = 1e-6;
    private const double LoopRtol = 1e-4;
    private const double LoopAtol = 1e-5;

    public static TheoryData<int, bool> StepCases() => IndicesWithPerturbation(File, "steps");

    public static TheoryData<int, bool> PndmCases() => IndicesWithPerturbation(File, "pndm_forced");

    public static TheoryData<int> LoopCases() => [.. Indices(File, "loops")];

    public static TheoryData<int> SavedConfigCases() => [.. Indices(File, "saved_configs")];

    [Theory]
    [MemberData(nameof(StepCases))]
    public void EulerAncestralStepMatchesDiffusers(int index, bool inputsOneUlpUp)
    {
        using var scope = NewDisposeScope();
        JsonElement item = Load(File).GetProperty("steps")[index];
        JsonElement config = item.GetProperty("config");
        using var scheduler = (EulerAncestralDiscreteScheduler)Create(config);
        scheduler.SetTimesteps(item.GetProperty("num_inference_steps").GetInt32());
        int at = item.GetProperty("index").GetInt32();
        scheduler.SetBeginIndex(at);

        long[] shape = Longs(item.GetProperty("shape"));
        Tensor t = scheduler.Timesteps[at];
        double tValue = t.to_type(ScalarType.Float64).item<double>();
        Assert.Equal(item.GetProperty("timestep").GetDouble(), tValue, 1e-4);
        Tensor sample = OneUlpUpIf(inputsOneUlpUp, Tensor(item.GetProperty("sample"), shape));
        Tensor scaled = scheduler.ScaleModelInput(sample, t);
        string label = $"{Label(config)} step {at} (t={tValue}){(inputsOneUlpUp ? ", sample one ulp up" : "")}";
        AssertClose(Floats(item.GetProperty("scaled_model_input")), scaled, StepRtol, StepAtol, label + " scaled input");

        SchedulerOutput result;
        if (item.TryGetProperty("generator_seed", out JsonElement seed))
        {
            // diffusers' randn_tensor with a CPU generator is torch.randn(generator=...): libtorch draws the same.
            using var generator = new Generator((ulong)seed.GetInt64());
            result = scheduler.Step(Model(scaled, tValue), t, sample, generator: generator);
        }
        else
        {
            result = scheduler.Step(Model(scaled, tValue), t, sample, varianceNoise: Tensor(item.GetProperty("variance_noise"), shape));
        }

        output.WriteLine($"{label}: max rel err {MaxRelativeError(Floats(item.GetProperty("prev_sample")), result.PrevSample):E2}");
        AssertClose(Floats(item.GetProperty("prev_sample")), result.PrevSample, StepRtol, StepAtol, label + " prev_sample");
        AssertClose(Floats(item.GetProperty("pred_original_sample")), result.PredOriginalSample!, StepRtol, StepAtol, label + " pred_original_sample");
    }

    [Theory]
    [MemberData(nameof(PndmCases))]
    public void PndmStepsMatchDiffusersOneAtATime(int index, bool inputsOneUlpUp)
    {
        using var outer = NewDisposeScope();
        JsonElement item = Load(File).GetProperty("pndm_forced")[index];
        JsonElement config = item.GetProperty("config");
        using var scheduler = (PNDMScheduler)Create(config);
        scheduler.SetTimesteps(item.GetProperty("num_inference_steps").GetInt32());
        Assert.Equal(Doubles(item.GetProperty("timesteps")).Select(v => (long)v).ToArray(), scheduler.Timesteps.data<long>().ToArray());

        long[] shape = Longs(item.GetProperty("shape"));
        JsonElement samples = item.GetProperty("samples");
        JsonElement expected = item.GetProperty("prev_samples");
        double worst = 0;
        for (int k = 0; k < samples.GetArrayLength(); k++)
        {
            using var scope = NewDisposeScope();
            Tensor t = scheduler.Timesteps[k];
            Tensor sample = OneUlpUpIf(inputsOneUlpUp, Tensor(samples[k], shape));
            SchedulerOutput result = scheduler.Step(Model(sample, t.item<long>()), t, sample);
            Assert.Null(result.PredOriginalSample);
            worst = Math.Max(worst, MaxRelativeError(Floats(expected[k]), result.PrevSample));
            AssertClose(Floats(expected[k]), result.PrevSample, StepRtol, StepAtol, $"{Label(config)} step {k} (t={t.item<long>()})");
        }

        output.WriteLine($"{Label(config)}{(inputsOneUlpUp ? ", samples one ulp up" : "")}: max rel err over {samples.GetArrayLength()} steps {worst:E2}");
    }

    [Theory]
    [MemberData(nameof(LoopCases))]
    public void LoopMatchesDiffusers(int index)
    {
        JsonElement item = Load(File).GetProperty("loops")[index];
        JsonElement config = item.GetProperty("config");
        INoiseScheduler scheduler = Create(config);
        using var owned = (IDisposable)scheduler;
        scheduler.SetTimesteps(item.GetProperty("num_inference_steps").GetInt32());
        Assert.Equal(item.GetProperty("init_noise_sigma").GetDouble(), scheduler.InitNoiseSigma, 1e-6 * scheduler.InitNoiseSigma);
        RunLoop(scheduler, item, Label(config));
    }

    /// <summary>scheduler_config.json as diffusers' save_config wrote it (Euler ancestral, PNDM and the four older schedulers; LMS, Heun and UniPC in SdSchedulerConfigTests): loads, runs like diffusers' from_config, and ToJson gives the same config back.</summary>
    [Theory]
    [MemberData(nameof(SavedConfigCases))]
    public void DiffusersSavedConfigLoadsRunsAndSavesBack(int index)
    {
        JsonElement item = Load(File).GetProperty("saved_configs")[index];
        string path = Path.Combine(TestEnvironment.ReferenceDir, "schedulers", item.GetProperty("file").GetString()!);
        INoiseScheduler scheduler = SchedulerConfig.Load(path);
        using var owned = (IDisposable)scheduler;
        scheduler.SetTimesteps(item.GetProperty("num_inference_steps").GetInt32());
        RunLoop(scheduler, item, Path.GetFileName(Path.GetDirectoryName(path))!);

        // Python writes lambda_min_clipped's default as a bare -Infinity; JSON cannot, so ToJson leaves a non-finite
        // default out and FromJson reads its absence as that default. Those keys are compared by that rule.
        using JsonDocument saved = JsonDocument.Parse(Diffusion.Schedulers.Internal.SchedulerJson.QuoteNonFiniteLiterals(System.IO.File.ReadAllText(path)));
        using JsonDocument ours = JsonDocument.Parse(SchedulerConfig.ToJson(scheduler));
        Dictionary<string, string> Keys(JsonDocument d) => d.RootElement.EnumerateObject()
            .Where(p => p.Name != "_diffusers_version")
            .ToDictionary(p => p.Name, p => p.Value.ValueKind switch
            {
                JsonValueKind.Number => p.Value.GetDouble().ToString("R", CultureInfo.InvariantCulture),
                JsonValueKind.String => "\"" + p.Value.GetString() + "\"",
                _ => p.Value.GetRawText(),
            });
        Dictionary<string, string> expected = Keys(saved);
        Dictionary<string, string> actual = Keys(ours);
        foreach (string key in expected.Where(p => p.Value is "\"-Infinity\"" or "\"Infinity\"" && !actual.ContainsKey(p.Key)).Select(p => p.Key).ToList())
        {
            expected.Remove(key);
        }

        Assert.Equal(expected.OrderBy(p => p.Key), actual.OrderBy(p => p.Key));
    }

    private void RunLoop(INoiseScheduler scheduler, JsonElement item, string label)
    {
        using var scope = NewDisposeScope();
        AssertClose(Doubles(item.GetProperty("timesteps")).Select(v => (float)v).ToArray(), scheduler.Timesteps, 1e-6, 0, label + " timesteps");
        Dictionary<int, float[]> checkpoints = Checkpoints(item);
        Assert.Equal(checkpoints.Keys.Max() + 1, scheduler.Timesteps.shape[0]);
        Tensor start = Pseudo(Longs(item.GetProperty("shape")), 7) * scheduler.InitNoiseSigma;
        var (worst, worstAbs) = AssertLoopMatches(scheduler, start, scheduler.Timesteps, Model, checkpoints, LoopRtol, LoopAtol, label);
        output.WriteLine($"{label}: max rel err over checkpoints {worst:E2}, max abs err {worstAbs:E2}");
    }
}
