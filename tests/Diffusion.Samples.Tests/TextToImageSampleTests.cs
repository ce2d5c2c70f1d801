namespace Diffusion.Tests;

public sealed class TextToImageSampleTests
{
    [Fact]
    public void ATinyRunTrainsClipAndTheConditionalUNetThenDrawsAndScores()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        (int code, string log) = FlowersSampleTests.Run("TextToImage.dll",
        [
            "--threads", "1", "--clip-minutes", "0.05", "--steps", "2", "--image-size", "8", "--model-dims", "16,32",
            "--dataset-size", "64", "--batch-size", "8", "--eval-count", "1", "--sampling-steps", "2", "--eval-steps", "2",
            "--output", dir.Path,
        ]);
        Assert.True(code == 0, log);
        Assert.NotEmpty(Directory.GetFiles(dir.Path, "*.png", SearchOption.AllDirectories));
    }
}
