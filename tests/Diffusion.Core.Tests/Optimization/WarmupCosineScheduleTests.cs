using Diffusion.Optimization;

namespace Diffusion.Tests.Optimization;

public sealed class WarmupCosineScheduleTests
{
    // Values from diffusers' get_cosine_schedule_with_warmup's lambda, written out:
    // step < w: step / w; else 0.5 * (1 + cos(pi * (step - w) / (T - w))).
    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(5, 0.5)]
    [InlineData(10, 1.0)]
    [InlineData(55, 0.5)]
    [InlineData(100, 0.0)]
    [InlineData(150, 0.0)]
    public void FollowsWarmupThenHalfCosine(int step, double factor)
    {
        var schedule = new WarmupCosineSchedule(1e-3, warmupSteps: 10, totalSteps: 100);
        Assert.Equal(1e-3 * factor, schedule.LearningRateAt(step), 12);
    }

    [Fact]
    public void RejectsBadArguments()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(0, 1, 10));
        Assert.Equal("baseLearningRate", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(1e-4, -1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(1e-4, 1, 0));
    }
}
