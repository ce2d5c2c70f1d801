using Diffusion.Models;

namespace Diffusion.Tests.Models;

public sealed class UNetOptionsTests
{
    [Fact]
    public void DefaultsAreTheBooksConfiguration()
    {
        var options = new UNetOptions();
        Assert.Equal(3, options.InChannels);
        Assert.Equal(3, options.OutChannels);
        Assert.Equal([128, 256, 512, 1024], options.HiddenDims);
        Assert.Equal(64, options.ImageSize);
        Assert.Equal(4, options.SizeMultiple);
        Assert.Equal(512, options.TimeEmbeddingDim);
        Assert.Empty(options.GetViolations());
    }

    [Fact]
    public void ValidationListsEveryViolation()
    {
        var options = new UNetOptions { InChannels = 0, HiddenDims = [6, 16, 20, 32], ImageSize = 30, AttentionHeads = 0 };
        var e = Assert.Throws<ArgumentException>(() => new UNet(options));
        string nl = Environment.NewLine;
        Assert.Equal(
            $"UNetOptions is invalid:{nl} - InChannels must be at least 1; got 0{nl} - AttentionHeads must be at least 1; got 0{nl}" +
            $" - HiddenDims[0] must be a multiple of NormGroups (8); got 6{nl} - HiddenDims[2] must be a multiple of NormGroups (8); got 20{nl}" +
            " - ImageSize must be a multiple of 4 (2^(HiddenDims.Count - 2)); got 30 (Parameter 'options')",
            e.Message);
    }

    [Fact]
    public void TooFewLevelsAndASmallTimestepWidthAreReported()
    {
        Assert.Equal(["HiddenDims must have at least 2 entries; got [8]."], new UNetOptions { HiddenDims = [8] }.GetViolations());
        Assert.Equal(
            ["HiddenDims[0] (the timestep embedding width) must be even and at least 4; got 2."],
            new UNetOptions { HiddenDims = [2, 4], NormGroups = 2 }.GetViolations());
    }

    [Fact]
    public void EqualityComparesHiddenDimsByValue()
    {
        Assert.Equal(new UNetOptions { HiddenDims = [8, 16] }, new UNetOptions { HiddenDims = new List<int> { 8, 16 } });
        Assert.Equal(new UNetOptions { HiddenDims = [8, 16] }.GetHashCode(), new UNetOptions { HiddenDims = new List<int> { 8, 16 } }.GetHashCode());
        Assert.NotEqual(new UNetOptions { HiddenDims = [8, 16] }, new UNetOptions { HiddenDims = [8, 24] });
        Assert.Contains("HiddenDims = [8, 16]", new UNetOptions { HiddenDims = [8, 16] }.ToString(), StringComparison.Ordinal);
    }
}
