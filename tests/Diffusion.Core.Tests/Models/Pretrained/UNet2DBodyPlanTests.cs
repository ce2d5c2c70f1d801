using Diffusion.Models.Blocks;

namespace Diffusion.Tests.Models.Pretrained;

/// <summary>
/// The channel plan both diffusers U-Nets build their blocks from, against diffusers' own loops in
/// <c>unet_2d.py</c>/<c>unet_2d_condition.py</c>, written out by hand for block_out_channels [32, 64, 128]: down block i
/// goes from the previous output (block_out_channels[0] first) to block_out_channels[i]; with the list reversed
/// (128, 64, 32), up block i takes prev_output_channel = the previous block's output (128 first), outputs reversed[i]
/// and has input_channel = reversed[min(i + 1, 2)].
/// </summary>
public sealed class UNet2DBodyPlanTests
{
    private static readonly int[] Channels = [32, 64, 128];

    [Fact]
    public void DownBlocksGoFromThePreviousLevelToTheirOwn()
    {
        Assert.Equal(
            [new(0, 0, 32, 32, 0, false), new(1, 1, 32, 64, 0, false), new(2, 2, 64, 128, 0, true)],
            UNet2DBody.DownPlan(Channels));
    }

    [Fact]
    public void UpBlocksRunTheLevelsInReverse()
    {
        Assert.Equal(
            [new(0, 2, 64, 128, 128, false), new(1, 1, 32, 64, 128, false), new(2, 0, 32, 32, 64, true)],
            UNet2DBody.UpPlan(Channels));
    }

    [Fact]
    public void OneLevelIsItsOwnFirstAndLastBlock()
    {
        Assert.Equal([new UNetBlockChannels(0, 0, 16, 16, 0, true)], UNet2DBody.DownPlan([16]));
        Assert.Equal([new UNetBlockChannels(0, 0, 16, 16, 16, true)], UNet2DBody.UpPlan([16]));
    }

    [Fact]
    public void ExpectedShapesFollowThePlan()
    {
        List<(string Key, long[] Shape)> shapes = UNet2DBody.ExpectedShapes(Channels, 4, 3, 3, 1, level => level + 1);
        Dictionary<string, long[]> byKey = shapes.ToDictionary(s => s.Key, s => s.Shape);
        Assert.Equal(2 + (2 * 3) + 3, shapes.Count);
        Assert.Equal([32, 4, 3, 3], byKey["conv_in.weight"]);
        Assert.Equal([3, 32, 1, 1], byKey["conv_out.weight"]);
        Assert.Equal([64, 32, 3, 3], byKey["down_blocks.1.resnets.0.conv1.weight"]);
        Assert.Equal([128, 128, 3, 3], byKey["down_blocks.2.resnets.2.conv2.weight"]);   // level 2: 3 resnets
        Assert.Equal([128, 128, 3, 3], byKey["up_blocks.0.resnets.3.conv2.weight"]);     // level 2 again, one resnet more
        Assert.Equal([32, 32, 3, 3], byKey["up_blocks.2.resnets.1.conv2.weight"]);       // level 0: 1 + 1 resnets
    }
}
