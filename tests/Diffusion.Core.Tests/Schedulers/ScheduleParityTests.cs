using System.Text.Json;
using Diffusion.Schedulers;
using Diffusion.Schedulers.Internal;
using Xunit.Abstractions;
using static Diffusion.Tests.Schedulers.SchedulerReference;

namespace Diffusion.Tests.Schedulers;

/// <summary>
/// ᾱ_t of every β schedule, the book's betas, and the inference timesteps/σ of every spacing, against diffusers
/// (58eb52c) and the book (schedules.json, timesteps.json).
/// </summary>
/// <remarks>
/// <para>Tolerances. ᾱ and σ: rtol 2e-6 (about 16 float32 ulp). We run the same float32 torch ops as diffusers
/// (linspace, cos, cumprod), but libtorch 2.10's vectorised kernels round a few elements 1 ulp differently from the
/// reference's torch 1.13 and the running product carries that on (measured: 0 for squaredcos_cap_v2, which is
/// float64 maths; 2.4e-7 for linear; 6.7e-7 for the book's cosine).</para>
/// <para>Zero-SNR rescaling subtracts √ᾱ_T from √ᾱ_t: one ulp of √ᾱ_t (≤ 1e-9 for t near T) becomes a relative
/// error of up to ~4e-5 in the tiny rescaled ᾱ near T (measured 3.7e-5), so rescaled ᾱ also get atol 1e-9, and σ
/// (which has half of ᾱ's relative error) rtol 2e-5. The book's β = 1 − ᾱ_t/ᾱ_{t−1} cancels too: atol 5e-7, four
/// ulp of 1.</para>
/// <para>Integer timesteps must be equal, float32 timesteps within 1e-6 relative. One exception: DPM-Solver with
/// Karras σ and squaredcos_cap_v2 truncates fractional timesteps (astype int64 without rounding), and the
/// reference's numpy computes log σ with its own AVX-512 float32 log, which differs from libm's logf by an ulp in
/// 14% of elements; t = 998.99999 or 999.0 then truncates to 998 or 999. Those timesteps are compared within 1.</para>
/// </remarks>
public sealed class ScheduleParityTests(ITestOutputHelper output)
{
    private const double ScheduleRtol = 2e-6;
    private const double RescaledAtol = 1e-9;
    private const double RescaledSigmaRtol = 2e-5;

    public static TheoryData<int> ScheduleCases() => [.. Indices("schedules.json", "schedules")];

    public static TheoryData<int> TimestepCases() => [.. Indices("timesteps.json", "timesteps")];

    [Theory]
    [MemberData(nameof(ScheduleCases))]
    public void AlphasCumprodMatchesReference(int index)
    {
        JsonElement item = Load("schedules.json").GetProperty("schedules")[index];
        JsonElement config = item.GetProperty("config");
        float[] expected = Floats(item.GetProperty("alphas_cumprod"));
        bool book = config.GetProperty("beta_schedule").GetString() == "clipped_cosine";
        using var scheduler = book ? new DdimScheduler(DdimSchedulerOptions.Book) : (IDisposable)Create(WithClass(config, "DDPMScheduler"));
        var noise = (INoiseScheduler)scheduler;
        output.WriteLine($"{Label(config)}: max rel err {MaxRelativeError(expected, noise.AlphasCumprod, 1e-12):E2}");
        AssertClose(expected, noise.AlphasCumprod, ScheduleRtol, Rescaled(config) ? RescaledAtol : 0, Label(config));
        if (book)
        {
            // The book's own betas, before the float32 running product.
            float[] betas = BetaSchedules.Betas(DdimSchedulerOptions.Book);
            AssertClose(Floats(item.GetProperty("betas")), betas, ScheduleRtol, 5e-7, "book betas");
        }
    }

    [Theory]
    [MemberData(nameof(TimestepCases))]
    public void TimestepsAndSigmasMatchReference(int index)
    {
        JsonElement item = Load("timesteps.json").GetProperty("timesteps")[index];
        JsonElement config = item.GetProperty("config");
        if (config.ValueKind == JsonValueKind.String)
        {
            // The book's set_timesteps(50).
            using var book = new DdimScheduler(DdimSchedulerOptions.Book);
            book.SetTimesteps(item.GetProperty("num_inference_steps").GetInt32());
            Assert.Equal(Longs(item.GetProperty("timesteps")), book.Timesteps.data<long>().ToArray());
            return;
        }

        using var scheduler = (IDisposable)Create(config);
        var noise = (INoiseScheduler)scheduler;
        if (!item.TryGetProperty("num_inference_steps", out JsonElement steps))
        {
            // Euler/DPM-Solver keep ᾱ_{T−1} = 2^-24 after zero-SNR rescaling.
            AssertClose(Floats(item.GetProperty("alphas_cumprod")), noise.AlphasCumprod, ScheduleRtol, RescaledAtol, Label(config));
            return;
        }

        long[] expectedTimesteps = item.GetProperty("timesteps").EnumerateArray().Select(v => (long)v.GetDouble()).ToArray();
        if (scheduler is not EulerDiscreteScheduler && expectedTimesteps.Max() >= noise.NumTrainTimesteps)
        {
            // diffusers sets timestep 1000 here and fails later with an IndexError; we refuse at once.
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => noise.SetTimesteps(steps.GetInt32()));
            Assert.Contains("beyond the last training timestep", e.Message);
            return;
        }

        noise.SetTimesteps(steps.GetInt32());
        string label = $"{Label(config)} N={steps.GetInt32()}";
        double sigmaRtol = Rescaled(config) ? RescaledSigmaRtol : ScheduleRtol;
        switch (scheduler)
        {
            case EulerDiscreteScheduler euler:
                AssertClose(Floats(item.GetProperty("timesteps")), euler.Timesteps, 1e-6, 0, label + " timesteps");
                AssertClose(Floats(item.GetProperty("sigmas")), euler.Sigmas.ToArray(), sigmaRtol, 0, label + " sigmas");
                Assert.Equal(item.GetProperty("init_noise_sigma").GetDouble(), euler.InitNoiseSigma, sigmaRtol * euler.InitNoiseSigma);
                break;
            case DpmSolverMultistepScheduler dpm:
                long[] actual = dpm.Timesteps.data<long>().ToArray();
                bool truncated = dpm.Options.UseKarrasSigmas && dpm.Options.BetaSchedule == BetaSchedule.SquaredCosCapV2;
                Assert.Equal(expectedTimesteps.Length, actual.Length);
                Assert.True(expectedTimesteps.Zip(actual).All(p => truncated ? Math.Abs(p.First - p.Second) <= 1 : p.First == p.Second), $"{label}: timesteps [{string.Join(",", actual)}], expected [{string.Join(",", expectedTimesteps)}]");
                AssertClose(Floats(item.GetProperty("sigmas")), dpm.Sigmas.ToArray(), sigmaRtol, 0, label + " sigmas");
                break;
            default:
                Assert.Equal(Longs(item.GetProperty("timesteps")), noise.Timesteps.data<long>().ToArray());
                break;
        }
    }

    [Fact]
    public void EulerInitNoiseSigmaBeforeSetTimestepsMatchesReference()
    {
        foreach (JsonElement item in Load("timesteps.json").GetProperty("timesteps").EnumerateArray())
        {
            if (item.TryGetProperty("init_noise_sigma_before", out JsonElement before))
            {
                using var euler = (EulerDiscreteScheduler)Create(item.GetProperty("config"));
                double rtol = Rescaled(item.GetProperty("config")) ? RescaledSigmaRtol : ScheduleRtol;
                Assert.Equal(before.GetDouble(), euler.InitNoiseSigma, rtol * before.GetDouble());
            }
        }
    }

    private static bool Rescaled(JsonElement config) =>
        config.TryGetProperty("rescale_betas_zero_snr", out JsonElement r) && r.GetBoolean();

    private static JsonElement WithClass(JsonElement config, string className)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(config.GetRawText())!.AsObject();
        node["_class_name"] = className;
        return JsonDocument.Parse(node.ToJsonString()).RootElement.Clone();
    }
}
