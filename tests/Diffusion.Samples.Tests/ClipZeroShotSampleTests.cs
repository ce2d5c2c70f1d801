namespace Diffusion.Tests;

public sealed class ClipZeroShotSampleTests
{
    [Fact]
    public void ATinyRunTrainsSavesAndASecondRunEvaluatesTheSavedClip()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string output = Path.Combine(dir.Path, "clip");
        (int code, string log) = FlowersSampleTests.Run("ClipZeroShot.dll",
            ["--threads", "1", "--steps", "2", "--batch-size", "8", "--dataset-size", "64", "--test-size", "37", "--output", output]);
        Assert.True(code == 0, log);
        Assert.Contains("Training 2 steps of 8 pairs", log, StringComparison.Ordinal);
        Assert.Contains("Zero-shot accuracy on 37 held-out flowers", log, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "config.json")), log);

        (code, log) = FlowersSampleTests.Run("ClipZeroShot.dll", ["--threads", "1", "--test-size", "37", "--clip", output]);
        Assert.True(code == 0, log);
        Assert.Contains($"loaded from {output}", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Training", log, StringComparison.Ordinal);
        Assert.Contains("Zero-shot accuracy on 37 held-out flowers", log, StringComparison.Ordinal);
    }
}
