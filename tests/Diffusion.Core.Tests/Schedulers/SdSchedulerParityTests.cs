using System.Text.Json;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using Diffusion.Schedulers.Internal;
using TorchSharp;
using Xunit.Abstractions;
using static Diffusion.Tests.Schedulers.SchedulerReference;
using static TorchSharp.torch;

namespace Diffusion.Tests.Schedulers;

/// <summary>
/// LMS, Heun and UniPC against diffusers' own scheduler files (58eb52c, run under PyTorch 1.13 and SciPy by
/// tools/reference/schedulers_lms_heun_unipc.py into lms_heun_unipc.json): schedules, LMS coefficients, every step,
/// whole loops, image-to-image starts and the pipeline's sampling loop.
/// </summary>
/// <remarks>
/// <para>Tolerances. A step runs diffusers' float32 operations in its order with scalars computed in C# float (the same
/// IEEE rounding as torch's 0-dim float32 ops; log/exp/expm1 within 1 ulp of libm/SLEEF), so one step agrees to a few
/// float32 ulp of the largest value involved: rtol 1e-5 plus atol 1e-6·max|expected| (8 ulp of the sample's scale: in
/// σ-space samples reach ~250 and an element near 0 carries the rounding of those large terms). Exceptions within that
/// budget: LMS coefficients (float64 Gauss–Legendre against scipy's quad of a float32 integrand, ≤ 1e-6 of Σ|c|, see
/// LmsCoefficients) and UniPC's ρ (float64 solve against float32 LAPACK, ≤ cond·6e-8 with cond &lt; 20 here). Every step
/// also runs with its inputs one ulp up, which must pass the same bounds: the budget is not tighter than the step's own
/// sensitivity to a last-bit difference, which is what another CPU's kernels may produce (measured on an AMD EPYC with
/// AVX-512: ≤ 8e-7 of max|x| as run, ≤ 1.2e-6 one ulp up, for LMS and Heun).</para>
/// <para>A free-running loop feeds each step's rounding into the next (up to 99 calls; UniPC's x0 = (x − σ_t·ε)/α_t divides
/// by α ≈ 0.07 at the start and LMS/UniPC are multistep), so loops get rtol 1e-4 plus atol 1e-5·max|expected|: ten times
/// the step budget, which bounds 50–100 steps of contractive error growth (each step's error ≤ 1e-6 relative, damped by
/// the ODE); the same holds on AVX2-only or AVX-512 kernels since only elementwise float32 ops are involved.</para>
/// <para>UniPC's φ-functions are a recursion with cancellation: hφ_{k+1} = hφ_k/h − 1/k! loses a factor ~k/h of relative
/// precision per level, so b_k (hence ρ and the residual) carries float32 rounding times κ = order!/h_min^(order−1)
/// (h_min the smallest λ step of the run; κ = 64 for order 3 and h = 0.25). Both implementations round in float32 with
/// libm/SLEEF differences of 1 ulp in expm1 and log, so their difference scales the same way: UniPC's atol is multiplied
/// by κ (diffusers' own float32 result was measured 1.9e-5 of max|x| away from a float64 run of the same step for order 3
/// ε-prediction, where κ ≈ 97).</para>
/// </remarks>
public sealed class SdSchedulerParityTests(ITestOutputHelper output)
{
    private const string File = "lms_heun_unipc.json";
    private const double StepRtol = 1e-5;
    private const double StepAtolScale = 1e-6;
    private const double LoopRtol = 1e-4;
    private const double LoopAtolScale = 1e-5;

    public static TheoryData<int> RunCases() => Cases("runs");

    public static TheoryData<int, bool> RunCasesWithPerturbation()
    {
        var data = new TheoryData<int, bool>();
        foreach (int i in RunCases())
        {
            data.Add(i, false);
            data.Add(i, true);
        }

        return data;
    }

    public static TheoryData<string, int> ScheduleCases()
    {
        var data = new TheoryData<string, int>();
        foreach (string list in new[] { "schedules", "runs" })
        {
            for (int i = 0; i < Load(File).GetProperty(list).GetArrayLength(); i++)
            {
                data.Add(list, i);
            }
        }

        return data;
    }

    public static TheoryData<int> Img2ImgCases() => Cases("img2img");

    public static TheoryData<int> PipelineCases() => Cases("pipeline");

    public static TheoryData<int> CoefficientCases() => Cases("lms_coefficients");

    [Theory]
    [MemberData(nameof(ScheduleCases))]
    public void SchedulesMatch(string list, int index)
    {
        JsonElement item = Load(File).GetProperty(list)[index];
        using var owned = (IDisposable)Create(item.GetProperty("config"));
        var scheduler = (INoiseScheduler)owned;
        scheduler.SetTimesteps(item.GetProperty("num_inference_steps").GetInt32());
        string label = $"{Label(item.GetProperty("config"))} n={item.GetProperty("num_inference_steps").GetInt32()}";

        // The same float64 formulas rounded to float32 (Karras: the fractional σ → t interpolation in float64).
        AssertClose(Floats(item.GetProperty("timesteps")), scheduler.Timesteps.to_type(ScalarType.Float32), 1e-6, 1e-4, label + " timesteps");
        AssertClose(Floats(item.GetProperty("sigmas")), [.. Sigmas(scheduler)], 1e-6, 1e-7, label + " sigmas");
        Assert.Equal(item.GetProperty("init_noise_sigma").GetDouble(), scheduler.InitNoiseSigma, 5e-6 * Math.Max(1, scheduler.InitNoiseSigma));
    }

    [Theory]
    [MemberData(nameof(CoefficientCases))]
    public void LmsCoefficientsMatchScipyQuad(int index)
    {
        JsonElement item = Load(File).GetProperty("lms_coefficients")[index];
        float[] sigmas = Floats(item.GetProperty("sigmas"));
        double worst = 0;
        foreach (JsonElement c in item.GetProperty("coefficients").EnumerateArray())
        {
            int i = c.GetProperty("index").GetInt32();
            int order = c.GetProperty("order").GetInt32();
            double[] expected = Doubles(c.GetProperty("values"));
            double[] actual = LmsCoefficients.At(sigmas, i, order);

            // scipy integrates diffusers' float32 integrand: ≤ ~12 float32 roundings per value (6e-8 each) of ∫|L_j|,
            // and ∫|L_j| ≤ Σ|c| for these interpolants; 1e-6·Σ|c| leaves room (see LmsCoefficients).
            double scale = expected.Sum(Math.Abs);
            for (int j = 0; j < order; j++)
            {
                double error = Math.Abs(actual[j] - expected[j]) / scale;
                worst = Math.Max(worst, error);
                Assert.True(error <= 1e-6, $"step {i} order {order} c{j}: {actual[j]:R}, scipy {expected[j]:R}");
            }
        }

        output.WriteLine($"{Label(item.GetProperty("config"))}: worst |c − scipy| / Σ|c| = {worst:E2}");
    }

    /// <summary>Each call given diffusers' own input, and again with that input one ulp up (what another CPU may round differently).</summary>
    [Theory]
    [MemberData(nameof(RunCasesWithPerturbation))]
    public void EveryStepMatchesGivenTheReferenceInput(int index, bool inputsOneUlpUp) => CompareRun(index, teacherForced: true, inputsOneUlpUp);

    [Theory]
    [MemberData(nameof(RunCases))]
    public void WholeLoopMatches(int index) => CompareRun(index, teacherForced: false, inputsOneUlpUp: false);

    [Theory]
    [MemberData(nameof(Img2ImgCases))]
    public void ImageToImageStartMatchesDiffusersBeginIndex(int index)
    {
        using var scope = NewDisposeScope();
        JsonElement item = Load(File).GetProperty("img2img")[index];
        using var owned = (IDisposable)Create(item.GetProperty("config"));
        var scheduler = (INoiseScheduler)owned;
        int n = item.GetProperty("num_inference_steps").GetInt32();

        // diffusers' StableDiffusionImg2ImgPipeline.get_timesteps, and set_begin_index(t_start·order).
        Tensor timesteps = ImageToImageTimesteps.ForStrength(scheduler, n, item.GetProperty("strength").GetDouble());
        Assert.Equal(item.GetProperty("begin_index").GetInt32(), scheduler.Timesteps.shape[0] - timesteps.shape[0]);
        AssertClose(Floats(item.GetProperty("timesteps")), timesteps.to_type(ScalarType.Float32), 1e-6, 1e-4, "kept timesteps");

        long[] shape = Longs(item.GetProperty("shape"));
        Tensor noisy = scheduler.AddNoise(Pseudo(shape, 3), Pseudo(shape, 4), timesteps[TensorIndex.Slice(0, 1)].repeat(shape[0]));
        float[] wantNoisy = Floats(item.GetProperty("noisy"));
        AssertClose(wantNoisy, noisy, StepRtol, StepAtolScale * MaxAbs(wantNoisy), "noisy start");

        Tensor x = noisy;
        JsonElement[] expected = [.. item.GetProperty("prev_samples").EnumerateArray()];
        Assert.Equal(expected.Length, timesteps.shape[0]);
        for (int k = 0; k < expected.Length; k++)
        {
            using var step = NewDisposeScope();
            Tensor t = timesteps[k];
            double tValue = t.to_type(ScalarType.Float64).item<double>();
            x = scheduler.Step(Model(scheduler.ScaleModelInput(x, t), tValue), t, x).PrevSample.MoveToOuterDisposeScope();
            float[] want = Floats(expected[k]);
            AssertClose(want, x, LoopRtol, LoopAtolScale * Conditioning(item) * MaxAbs(want), $"{Label(item.GetProperty("config"))} img2img call {k}");
        }
    }

    [Theory]
    [MemberData(nameof(PipelineCases))]
    public void PipelineSamplingLoopDrivesEachScheduler(int index)
    {
        using var scope = NewDisposeScope();
        JsonElement item = Load(File).GetProperty("pipeline")[index];
        using var owned = (IDisposable)Create(item.GetProperty("config"));
        var scheduler = (INoiseScheduler)owned;
        long[] shape = Longs(item.GetProperty("shape"));
        using var generator = new Generator((ulong)item.GetProperty("seed").GetInt64());
        var reports = new List<SamplingProgress>();
        var progress = new SynchronousProgress<SamplingProgress>(reports.Add);
        int calls = 0;

        // The stand-in U-Net of the reference (pipeline_model); DenoisingLoop does x_T, ScaleModelInput, Step for every timestep.
        Tensor Predict(Tensor input, Tensor t)
        {
            calls++;
            double v = t.to_type(ScalarType.Float64).item<double>();
            return (input * (0.9 + (0.02 * Math.Cos(v / 100.0)))) + (0.05 * Math.Sin(v / 50.0));
        }

        Tensor images = DenoisingLoop.Run(scheduler, shape, item.GetProperty("num_inference_steps").GetInt32(), generator, CPU, ScalarType.Float32, Predict, 0, 1, progress, CancellationToken.None);
        int expectedCalls = item.GetProperty("calls").GetInt32();
        Assert.Equal(expectedCalls, calls);
        Assert.Equal(expectedCalls, reports.Count);
        Assert.All(reports, r => Assert.Equal(expectedCalls, r.TotalSteps));

        // Images in [0, 1] after a free-running loop: the loop budget (most of them are inside (0, 1), see the reference).
        AssertClose(Floats(item.GetProperty("images")), images, LoopRtol, LoopAtolScale, $"{Label(item.GetProperty("config"))} images");
    }

    [Fact]
    public void UniPCBh1EndsAtTheLastX0WhereDiffusersGivesNaN()
    {
        using var scope = NewDisposeScope();
        using var scheduler = new UniPCMultistepScheduler(new UniPCMultistepSchedulerOptions { SolverType = UniPCSolverType.Bh1 });
        scheduler.SetTimesteps(10);
        Tensor x = Pseudo([2, 2, 3, 3], 7);
        Tensor lastX0 = x;
        for (int k = 0; k < 10; k++)
        {
            Tensor t = scheduler.Timesteps[k];
            Tensor eps = Model(x, t.to_type(ScalarType.Float64).item<double>());
            float sigma = scheduler.Sigmas[k];
            float alpha = 1f / MathF.Sqrt((sigma * sigma) + 1);
            lastX0 = (x - (eps * (sigma * alpha))) / alpha;
            x = scheduler.Step(eps, t, x).PrevSample;
        }

        Assert.False(x.isnan().any().item<bool>());
        AssertClose(lastX0.data<float>().ToArray(), x, 1e-6, 1e-6, "bh1 last step");
    }

    /// <summary>
    /// Runs a reference configuration call by call and compares every output: <paramref name="teacherForced"/> feeds each
    /// call diffusers' own input (single steps, step budget), otherwise our own previous output (loop budget).
    /// </summary>
    private void CompareRun(int index, bool teacherForced, bool inputsOneUlpUp)
    {
        using var scope = NewDisposeScope();
        JsonElement item = Load(File).GetProperty("runs")[index];
        using var owned = (IDisposable)Create(item.GetProperty("config"));
        var scheduler = (INoiseScheduler)owned;
        scheduler.SetTimesteps(item.GetProperty("num_inference_steps").GetInt32());
        long[] shape = Longs(item.GetProperty("shape"));
        JsonElement[] expected = [.. item.GetProperty("prev_samples").EnumerateArray()];
        Assert.Equal(expected.Length, scheduler.Timesteps.shape[0]);
        (double rtol, double atolScale) = teacherForced ? (StepRtol, StepAtolScale) : (LoopRtol, LoopAtolScale);
        string label = Label(item.GetProperty("config")) + (teacherForced ? " step" : " loop") + (inputsOneUlpUp ? " (inputs one ulp up)" : "");

        Tensor x = OneUlpUpIf(inputsOneUlpUp, Pseudo(shape, 7) * scheduler.InitNoiseSigma);
        double worst = 0;
        for (int k = 0; k < expected.Length; k++)
        {
            using var step = NewDisposeScope();
            float[] want = Floats(expected[k]);
            Tensor result = StepOnce(scheduler, x, k);
            AssertClose(want, result, rtol, atolScale * Conditioning(item) * MaxAbs(want), $"{label} call {k}");
            worst = Math.Max(worst, MaxAbsoluteError(want, result) / MaxAbs(want));
            x = (teacherForced ? OneUlpUpIf(inputsOneUlpUp, Tensor(expected[k], shape)) : result).MoveToOuterDisposeScope();
        }

        output.WriteLine($"{label}: worst |err| / max|x| = {worst:E2}");
    }

    /// <summary>ScaleModelInput, the stand-in model and Step for call k of the scheduler's timesteps.</summary>
    private static Tensor StepOnce(INoiseScheduler scheduler, Tensor x, int k)
    {
        Tensor t = scheduler.Timesteps[k];
        double tValue = t.to_type(ScalarType.Float64).item<double>();
        return scheduler.Step(Model(scheduler.ScaleModelInput(x, t), tValue), t, x).PrevSample;
    }

    private static IReadOnlyList<float> Sigmas(INoiseScheduler scheduler) => scheduler switch
    {
        LmsDiscreteScheduler lms => lms.Sigmas,
        HeunDiscreteScheduler heun => heun.Sigmas,
        UniPCMultistepScheduler unipc => unipc.Sigmas,
        _ => throw new ArgumentException(scheduler.GetType().Name, nameof(scheduler)),
    };

    /// <summary>κ = order!/h_min^(order−1) of a UniPC run (see the remarks), 1 for the others and for order 1.</summary>
    private static double Conditioning(JsonElement item)
    {
        JsonElement config = item.GetProperty("config");
        if (config.GetProperty("_class_name").GetString() != "UniPCMultistepScheduler")
        {
            return 1;
        }

        int order = config.TryGetProperty("solver_order", out JsonElement o) ? o.GetInt32() : 2;
        using var scheduler = (UniPCMultistepScheduler)Create(config);
        scheduler.SetTimesteps(item.GetProperty("num_inference_steps").GetInt32());
        double[] lambda = scheduler.Sigmas.Select(s => -Math.Log(s)).ToArray(); // λ = log(α/σ_t) = −log σ
        double hMin = lambda.Zip(lambda.Skip(1)).Select(p => p.Second - p.First).Where(double.IsFinite).Min();
        double factorial = Enumerable.Range(1, order).Aggregate(1.0, (a, b) => a * b);
        return Math.Max(1, factorial / Math.Pow(hMin, order - 1));
    }

    private static double MaxAbs(float[] values) => values.Max(v => Math.Abs((double)v));

    private static TheoryData<int> Cases(string list)
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Load(File).GetProperty(list).GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }
}
