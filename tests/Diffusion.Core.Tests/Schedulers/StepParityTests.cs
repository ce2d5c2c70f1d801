using System.Text.Json;
using Diffusion.Schedulers;
using TorchSharp;
using Xunit.Abstractions;
using static Diffusion.Tests.Schedulers.SchedulerReference;
using static TorchSharp.torch;

namespace Diffusion.Tests.Schedulers;

/// <summary>
/// Single steps, whole sampling loops, the book's sampler and AddNoise/GetVelocity, element-wise against
/// diffusers (58eb52c) and the book's DDIMScheduler (steps.json, loops.json, book.json).
/// </summary>
/// <remarks>
/// <para>Tolerances. One step runs the same float32 operations in the same order as diffusers, with the scalar
/// coefficients computed in C# float (IEEE-identical to torch's 0-dim float32 ops; log/exp from the same libm), and
/// the schedules (β, ᾱ, the zero-SNR rescale) computed to the same bits as diffusers on every CPU (see
/// BetaSchedules). What may still differ between CPUs is the last bit of libtorch's element-wise kernels: its float32
/// sqrt is not correctly rounded on every CPU (one value in five is one ulp off on an AMD EPYC, family 26), and the
/// vector width changes the order of nothing here (no reductions in a step). A step is a short chain (≤ 8 operations)
/// of products and sums of terms of magnitude ≤ ~2 whose coefficients are ≤ 1 except Euler's σ-scaled samples: each
/// operation adds at most one ulp (1.2e-7 relative), so a step errs by ≲ 8 ulp of its largest term: rtol 1e-5 (84
/// ulp) plus atol 1e-6 (8 ulp of 1; for cancelling terms) holds on any x86-64 CPU with a margin of 10, measured ≤
/// 1.2e-7 here and 1.4e-6 on Euler samples of magnitude ~150 (1e-8 relative). The worst-conditioned case, add_noise
/// at t = 0 under zero-SNR rescaling, multiplies noise by √(1 − ᾱ₀) with 1 − ᾱ₀ ≈ 4e-5: one ulp of ᾱ₀ would move
/// it by 5e-6 (that fault was the schedule, now bit-exact); one ulp of √(1 − ᾱ₀) itself moves it by 1e-9. Every
/// case also runs with its inputs moved up one ulp, which must pass the same bounds.</para>
/// </remarks>
public sealed class StepParityTests(ITestOutputHelper output)
{
    private const double StepRtol = 1e-5;
    private const double StepAtol = 1e-6;
    private const double LoopRtol = 1e-4;
    private const double LoopAtol = 1e-5;

    public static TheoryData<int, bool> StepCases() => IndicesWithPerturbation("steps.json", "steps");

    public static TheoryData<int> LoopCases() => [.. Indices("loops.json", "loops")];

    public static TheoryData<int, bool> AddNoiseCases() => IndicesWithPerturbation("steps.json", "add_noise");

    [Theory]
    [MemberData(nameof(StepCases))]
    public void SingleStepMatchesReference(int index, bool inputsOneUlpUp)
    {
        using var scope = NewDisposeScope();
        JsonElement item = Load("steps.json").GetProperty("steps")[index];
        JsonElement config = item.GetProperty("config");
        JsonElement extras = item.GetProperty("extras");
        bool withGenerator = extras.TryGetProperty("generator_seed", out JsonElement seed);
        INoiseScheduler scheduler = Create(config, withGenerator ? null : extras);
        using var owned = (IDisposable)scheduler;
        scheduler.SetTimesteps(item.GetProperty("num_inference_steps").GetInt32());

        long[] shape = Longs(item.GetProperty("shape"));
        Tensor t = scheduler.Timesteps[item.GetProperty("index").GetInt32()];
        double tValue = t.to_type(ScalarType.Float64).item<double>();
        Assert.Equal(item.GetProperty("timestep").GetDouble(), tValue, 1e-4);

        Tensor sample = OneUlpUpIf(inputsOneUlpUp, Tensor(item.GetProperty("sample"), shape));
        Tensor noise = Tensor(item.GetProperty("variance_noise"), shape);
        Tensor scaled = scheduler.ScaleModelInput(sample, t);
        Tensor modelOutput = IsLearned(config) ? Learned(scaled, tValue) : Model(scaled, tValue);
        string label = $"{Label(config, extras)} step {item.GetProperty("index").GetInt32()} (t={tValue}){(inputsOneUlpUp ? ", sample one ulp up" : "")}";

        SchedulerOutput result;
        if (withGenerator)
        {
            // The reference drew its noise with torch.randn(generator=manual_seed(seed)); so does libtorch here.
            using var generator = new Generator((ulong)seed.GetInt64());
            result = scheduler.Step(modelOutput, t, sample, generator: generator);
        }
        else
        {
            result = scheduler.Step(modelOutput, t, sample, varianceNoise: noise);
        }

        if (item.TryGetProperty("scaled_model_input", out JsonElement expectedScaled))
        {
            AssertClose(Floats(expectedScaled), scaled, StepRtol, StepAtol, label + " scaled input");
        }

        output.WriteLine($"{label}: max rel err {MaxRelativeError(Floats(item.GetProperty("prev_sample")), result.PrevSample):E2}, max abs err {MaxAbsoluteError(Floats(item.GetProperty("prev_sample")), result.PrevSample):E2}");
        AssertClose(Floats(item.GetProperty("prev_sample")), result.PrevSample, StepRtol, StepAtol, label + " prev_sample");
        Assert.NotNull(result.PredOriginalSample);
        AssertClose(Floats(item.GetProperty("pred_original_sample")), result.PredOriginalSample!, StepRtol, StepAtol, label + " pred_original_sample");
    }

    [Theory]
    [MemberData(nameof(LoopCases))]
    public void SamplingLoopMatchesReference(int index)
    {
        JsonElement item = Load("loops.json").GetProperty("loops")[index];
        JsonElement config = item.GetProperty("config");
        JsonElement extras = item.GetProperty("extras");
        INoiseScheduler scheduler = Create(config, extras);
        using var owned = (IDisposable)scheduler;
        scheduler.SetTimesteps(item.GetProperty("num_inference_steps").GetInt32());
        AssertClose(Doubles(item.GetProperty("timesteps")).Select(v => (float)v).ToArray(), scheduler.Timesteps, 1e-6, 0, "timesteps");

        long[] shape = Longs(item.GetProperty("shape"));
        Func<Tensor, double, Tensor> model = IsLearned(config) ? Learned : Model;
        Dictionary<int, float[]> checkpoints = item.GetProperty("checkpoints").EnumerateObject().ToDictionary(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p => Floats(p.Value));
        string label = Label(config, extras);
        RunLoop(scheduler, shape, model, checkpoints, label);
    }

    [Fact]
    public void BookSamplerMatchesTheBook()
    {
        JsonElement book = Load("book.json").GetProperty("book");
        using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
        scheduler.SetTimesteps(book.GetProperty("num_inference_steps").GetInt32());
        long[] shape = Longs(book.GetProperty("shape"));
        Dictionary<int, float[]> checkpoints = book.GetProperty("checkpoints").EnumerateObject().ToDictionary(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p => Floats(p.Value));
        RunLoop(scheduler, shape, Model, checkpoints, "book loop");

        // The book's step with its defaults (η = 1, clipped model output) at three timesteps.
        foreach (JsonElement step in book.GetProperty("steps").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            Tensor t = scheduler.Timesteps[step.GetProperty("index").GetInt32()];
            Assert.Equal(step.GetProperty("timestep").GetInt64(), t.item<long>());
            Tensor sample = Tensor(step.GetProperty("sample"), shape);
            SchedulerOutput result = scheduler.Step(Model(sample, t.item<long>()), t, sample, varianceNoise: Tensor(step.GetProperty("variance_noise"), shape));
            AssertClose(Floats(step.GetProperty("prev_sample")), result.PrevSample, StepRtol, StepAtol, $"book step t={t.item<long>()}");
        }

        // The book's add_noise.
        using (NewDisposeScope())
        {
            JsonElement addNoise = book.GetProperty("add_noise");
            Tensor timesteps = tensor(Longs(addNoise.GetProperty("timesteps")), dtype: ScalarType.Int64);
            Tensor noisy = scheduler.AddNoise(Pseudo([5, 2, 2, 2], 3), Pseudo([5, 2, 2, 2], 4), timesteps);
            AssertClose(Floats(addNoise.GetProperty("noisy")), noisy, StepRtol, StepAtol, "book add_noise");
        }
    }

    [Theory]
    [MemberData(nameof(AddNoiseCases))]
    public void AddNoiseAndVelocityMatchReference(int index, bool inputsOneUlpUp)
    {
        using var scope = NewDisposeScope();
        JsonElement item = Load("steps.json").GetProperty("add_noise")[index];
        JsonElement config = item.GetProperty("config");
        INoiseScheduler scheduler = Create(config);
        using var owned = (IDisposable)scheduler;
        Tensor x0 = OneUlpUpIf(inputsOneUlpUp, Pseudo([5, 2, 2, 2], 3));
        Tensor noise = OneUlpUpIf(inputsOneUlpUp, Pseudo([5, 2, 2, 2], 4));
        Tensor timesteps;
        if (item.TryGetProperty("num_inference_steps", out JsonElement steps))
        {
            // Euler / DPM-Solver: timesteps taken from the inference schedule.
            scheduler.SetTimesteps(steps.GetInt32());
            timesteps = tensor(Doubles(item.GetProperty("timesteps")).Select(v => (float)v).ToArray(), dtype: scheduler.Timesteps.dtype == ScalarType.Int64 ? ScalarType.Float32 : scheduler.Timesteps.dtype).to_type(scheduler.Timesteps.dtype);
        }
        else
        {
            timesteps = tensor(Longs(item.GetProperty("timesteps")), dtype: ScalarType.Int64);
        }

        AssertClose(Floats(item.GetProperty("noisy")), scheduler.AddNoise(x0, noise, timesteps), StepRtol, StepAtol, Label(config) + " add_noise");
        if (item.TryGetProperty("velocity", out JsonElement velocity))
        {
            AssertClose(Floats(velocity), scheduler.GetVelocity(x0, noise, timesteps), StepRtol, StepAtol, Label(config) + " velocity");
        }
    }

    [Fact]
    public void LibTorchRandnMatchesTheReferenceGenerator()
    {
        // The generator-driven DDPM step above relies on libtorch's CPU normal sampler being unchanged.
        using var generator = new Generator(0);
        using Tensor drawn = randn([2, 2, 3, 3], generator: generator);
        AssertClose(Floats(Load("schedules.json").GetProperty("randn_seed0")), drawn, 0, 1e-6, "randn(seed 0)");
    }

    private void RunLoop(INoiseScheduler scheduler, long[] shape, Func<Tensor, double, Tensor> model, Dictionary<int, float[]> checkpoints, string label)
    {
        using var scope = NewDisposeScope();
        var (worst, worstAbs) = AssertLoopMatches(scheduler, Pseudo(shape, 7) * scheduler.InitNoiseSigma, scheduler.Timesteps, model, checkpoints, LoopRtol, LoopAtol, label);
        output.WriteLine($"{label}: max rel err over checkpoints {worst:E2}, max abs err {worstAbs:E2}");
    }
}
