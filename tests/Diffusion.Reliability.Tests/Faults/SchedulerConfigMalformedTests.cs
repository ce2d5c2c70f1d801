using Diffusion.Schedulers;

namespace Diffusion.Tests.Faults;

/// <summary>Hand-written bad <c>scheduler_config.json</c> files: refused from the file with its path, and without building huge schedules.</summary>
public sealed class SchedulerConfigMalformedTests
{
    [Theory]
    [InlineData("""{"_class_name": "DDPMScheduler", "num_train_timesteps": 2147483647}""", "NumTrainTimesteps (num_train_timesteps) must be at most 1000000; got 2147483647")]
    [InlineData("""{"_class_name": "DDIMScheduler", "num_train_timesteps": 4294967296}""", "num_train_timesteps")]
    [InlineData("""{"_class_name": "DDIMScheduler", "beta_end": 1.5}""", "BetaEnd (beta_end) must lie in (0, 1); got 1.5")]
    [InlineData("""{"_class_name": "EulerDiscreteScheduler", "beta_schedule": "exotic"}""", "beta_schedule")]
    [InlineData("""{"_class_name": "UNet2DModel"}""", "\"_class_name\" must be one of")]
    [InlineData("""{"_class_name": "DDPMScheduler", "trained_betas": [0.1, 0.2]}""", "TrainedBetas (trained_betas) must hold NumTrainTimesteps (1000) values; got 2")]
    [InlineData("""[1, 2]""", "must be a JSON object")]
    [InlineData("""{"_class_name": "DDPMScheduler", """, "not valid JSON")]
    public void BadConfigFilesAreInvalidDataNamingTheFile(string json, string expected)
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string path = Path.Combine(temp.Path, "scheduler_config.json");
        File.WriteAllText(path, json);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => SchedulerConfig.Load(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJsonKeepsArgumentExceptionForRuleViolations()
    {
        var e = Assert.Throws<ArgumentException>(() => SchedulerConfig.FromJson("""{"_class_name": "DDPMScheduler", "num_train_timesteps": 1000001}"""));
        Assert.Contains("must be at most 1000000; got 1000001", e.Message, StringComparison.Ordinal);
    }
}
