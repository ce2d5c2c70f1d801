using Diffusion.Models;

namespace Diffusion.Tests.Models.Conditional;

public sealed class ConditionalUNetOptionsTests
{
    [Fact]
    public void DefaultsAreTheBooksUNetWithCrossAttentionEverywhere()
    {
        var options = new ConditionalUNetOptions();
        Assert.Empty(options.GetViolations());
        Assert.Equal(new UNetOptions(), options.UNet);
        Assert.Equal(512, options.ContextDim);
        Assert.Null(options.NumClasses);
        Assert.Null(options.NullClassLabel);
        Assert.True(options.HasCrossAttention);
        Assert.Equal(CrossAttentionLevels.All, options.CrossAttentionLevels);
        Assert.True(options.CrossAttentionLevels.HasDown(0) && options.CrossAttentionLevels.HasUp(2));
    }

    [Fact]
    public void ValidationListsEveryViolation()
    {
        var options = new ConditionalUNetOptions
        {
            UNet = new UNetOptions { HiddenDims = [16, 30], ImageSize = 8 },
            ContextDim = 0,
            NumClasses = -2,
            CrossAttentionHeads = 0,
            CrossAttentionHeadDim = -1,
            CrossAttentionLevels = new CrossAttentionLevels { DownLevels = [0, 0, 1], UpLevels = [-1] },
        };
        Assert.Equal(
            [
                "UNet.HiddenDims[1] must be a multiple of NormGroups (8); got 30.",
                "ContextDim must be at least 1 or null (no text conditioning); got 0.",
                "NumClasses must be at least 1 or null (no class conditioning); got -2.",
                "CrossAttentionHeads must be at least 1; got 0.",
                "CrossAttentionHeadDim must be at least 1; got -1.",
                "CrossAttentionLevels.DownLevels entries must lie in [0, 0] (HiddenDims.Count - 2); got 1.",
                "CrossAttentionLevels.DownLevels must not repeat a level; got [0, 0, 1].",
                "CrossAttentionLevels.UpLevels entries must lie in [0, 0] (HiddenDims.Count - 2); got -1.",
            ],
            options.GetViolations());
        ArgumentException e = Assert.Throws<ArgumentException>(() => new ConditionalUNet(options));
        Assert.StartsWith($"ConditionalUNetOptions is invalid:{Environment.NewLine} - UNet.HiddenDims[1] must be a multiple of NormGroups (8); got 30{Environment.NewLine} - ContextDim must", e.Message, StringComparison.Ordinal);
        Assert.Equal("options", e.ParamName);
    }

    [Fact]
    public void EqualityComparesListsByValueAndTheNetworkKeepsItsOwnCopy()
    {
        var levels = new List<int> { 0 };
        var options = new ConditionalUNetOptions
        {
            UNet = new UNetOptions { HiddenDims = [16, 32, 32], ImageSize = 8 },
            ContextDim = 8,
            CrossAttentionLevels = new CrossAttentionLevels { DownLevels = levels },
        };
        Assert.Equal(options, options with { CrossAttentionLevels = new CrossAttentionLevels { DownLevels = [0] } });
        Assert.NotEqual(options, options with { CrossAttentionLevels = new CrossAttentionLevels { DownLevels = [1] } });
        Assert.Equal(options.GetHashCode(), (options with { UNet = options.UNet with { HiddenDims = [16, 32, 32] } }).GetHashCode());

        using var unet = new ConditionalUNet(options);
        levels.Add(1);
        Assert.Equal([0], unet.Options.CrossAttentionLevels.DownLevels!);
        Assert.Contains("DownLevels = [0]", unet.Options.ToString(), StringComparison.Ordinal);
        Assert.False(new ConditionalUNetOptions { CrossAttentionLevels = CrossAttentionLevels.None }.HasCrossAttention);
        Assert.False(new ConditionalUNetOptions { ContextDim = null }.HasCrossAttention);
    }
}
