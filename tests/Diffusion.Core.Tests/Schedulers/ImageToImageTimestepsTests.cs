using System.Globalization;
using System.Text.Json;
using Diffusion.Schedulers;
using TorchSharp;
using Xunit.Abstractions;
using static Diffusion.Tests.Schedulers.SchedulerReference;
using static TorchSharp.torch;

namespace Diffusion.Tests.Schedulers;

/// <summary>
/// <see cref="ImageToImageTimesteps.ForStrength"/> and <see cref="INoiseScheduler.SetBeginIndex"/> against diffusers'
/// StableDiffusionImg2ImgPipeline.get_timesteps run on diffusers' schedulers (img2img.json, made by
/// tools/reference/schedulers_euler_a_pndm.py): the timesteps kept, and a whole image-to-image run from
/// add_noise(x0, ε, timesteps[:1]) to the end, which shows each scheduler starts where diffusers does.
/// </summary>
/// <remarks>Tolerances as <see cref="AncestralAndPndmParityTests"/>: the start is one add_noise (rtol 1e-5), the run a loop of up to 37 steps (rtol 1e-4).</remarks>
public sealed class ImageToImageTimestepsTests(ITestOutputHelper output)
{
    private const string File = "img2img.json";

    public static TheoryData<int> Cases() => [.. Indices(File, "cases")];

    [Theory]
    [MemberData(nameof(Cases))]
    public void KeepsDiffusersTimestepsAndStartsWhereDiffusersDoes(int index)
    {
        using var outer = NewDisposeScope();
        JsonElement item = Load(File).GetProperty("cases")[index];
        JsonElement config = item.GetProperty("config");
        INoiseScheduler scheduler = Create(config);
        using var owned = (IDisposable)scheduler;
        int steps = item.GetProperty("num_inference_steps").GetInt32();
        double strength = item.GetProperty("strength").GetDouble();
        string label = $"{Label(config)} N={steps} strength={strength.ToString(CultureInfo.InvariantCulture)}";

        if (scheduler is PNDMScheduler { Options.SkipPrkSteps: false } && strength < 1)
        {
            // diffusers runs the Runge-Kutta warm-up from timesteps it was not made for; we refuse.
            Assert.Throws<InvalidOperationException>(() => ImageToImageTimesteps.ForStrength(scheduler, steps, strength));
            return;
        }

        Tensor timesteps = ImageToImageTimesteps.ForStrength(scheduler, steps, strength);
        double[] expected = Doubles(item.GetProperty("timesteps"));
        Assert.Equal(expected.Length, timesteps.shape[0]);
        AssertClose(expected.Select(v => (float)v).ToArray(), timesteps, 1e-7, 0, label + " timesteps");
        Assert.Equal(scheduler.Timesteps.dtype, timesteps.dtype);
        Assert.Equal(item.GetProperty("steps_left").GetInt32(), Math.Min((int)(steps * strength), steps)); // diffusers' kept step count

        // The caller owns the result: disposing the scheduler's own timesteps later must not touch it.
        Assert.NotEqual(scheduler.Timesteps.Handle, timesteps.Handle);

        long[] shape = Longs(item.GetProperty("shape"));
        Tensor x = scheduler.AddNoise(Pseudo(shape, 3), Pseudo(shape, 4), timesteps[..1]);
        AssertClose(Floats(item.GetProperty("start")), x, 1e-5, 1e-6, label + " start");
        var (worst, worstAbs) = AssertLoopMatches(scheduler, x, timesteps, Model, Checkpoints(item), 1e-4, 1e-5, label);
        output.WriteLine($"{label}: {timesteps.shape[0]} steps from t={timesteps[0].to_type(ScalarType.Float64).item<double>()}, max rel err {worst:E2}, max abs err {worstAbs:E2}");
    }

    [Fact]
    public void StrengthOneKeepsEveryTimestepAndBeginsAtZero()
    {
        foreach (string name in new[] { "ddpm", "ddim", "euler-leading", "dpm++2", "euler-a", "pndm", "pndm-prk" })
        {
            using var scope = NewDisposeScope();
            INoiseScheduler scheduler = SchedulerConformanceTests.Create(name);
            using var owned = (IDisposable)scheduler;
            Tensor all = ImageToImageTimesteps.ForStrength(scheduler, 20, 1.0);
            Assert.Equal(scheduler.Timesteps.shape, all.shape);
            Assert.True(all.eq(scheduler.Timesteps).all().item<bool>(), name);
        }
    }
}
