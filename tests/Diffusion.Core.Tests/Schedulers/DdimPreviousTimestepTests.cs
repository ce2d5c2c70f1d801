using Diffusion.Schedulers;
using static TorchSharp.torch;

namespace Diffusion.Tests.Schedulers;

/// <summary>
/// diffusers' DDIM steps from t to t − T/N even when the schedule's next timestep is another (linspace, trailing).
/// We match that by default (the reference loops check it) and offer the schedule's own next timestep.
/// </summary>
public sealed class DdimPreviousTimestepTests
{
    [Theory]
    [InlineData(false, 857)] // 999 − 1000 / 7 (diffusers)
    [InlineData(true, 832)]  // the next element of [999, 832, 666, 500, 333, 166, 0]
    public void PreviousTimestepFollowsTheOption(bool fromSchedule, int expectedPrevious)
    {
        using var scope = NewDisposeScope();
        using var scheduler = new DdimScheduler(new DdimSchedulerOptions
        {
            TimestepSpacing = TimestepSpacing.Linspace,
            PredictionType = PredictionType.Sample,
            ClipSample = false,
            PreviousTimestepFromSchedule = fromSchedule,
        });
        scheduler.SetTimesteps(7);
        Assert.Equal([999L, 832, 666, 500, 333, 166, 0], scheduler.Timesteps.data<long>().ToArray());

        // With x0 predicted directly and η = 0: x_prev = √ᾱ_prev·x0 + √(1 − ᾱ_prev)·ε, ε = (x_t − √ᾱ_t·x0) / √(1 − ᾱ_t).
        float[] alphas = scheduler.AlphasCumprod.data<float>().ToArray();
        Tensor x = full(1, 1, 2, 2, 0.7f);
        Tensor x0 = full(1, 1, 2, 2, 0.2f);
        Tensor prev = scheduler.Step(x0, scheduler.Timesteps[0], x).PrevSample;
        double eps = (0.7 - (Math.Sqrt(alphas[999]) * 0.2)) / Math.Sqrt(1 - alphas[999]);
        double expected = (Math.Sqrt(alphas[expectedPrevious]) * 0.2) + (Math.Sqrt(1 - alphas[expectedPrevious]) * eps);
        Assert.Equal(expected, prev[0, 0, 0, 0].item<float>(), 1e-5);
    }
}
