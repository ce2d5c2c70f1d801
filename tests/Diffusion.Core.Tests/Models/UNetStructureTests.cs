using System.Text.Json;
using Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models;

/// <summary>Key names, shapes and parameter counts against the book's PyTorch model (no forward pass).</summary>
public sealed class UNetStructureTests
{
    private static readonly string KeysFile = Path.Combine(TestEnvironment.ReferenceDir, "unet", "book_state_dict_keys.json");

    [Fact]
    public void BookConfigurationHasTheBooksKeysShapesOrderAndParameterCount()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(KeysFile));
        string[] expected = doc.RootElement.GetProperty("keys").EnumerateArray()
            .Select(k => k.GetProperty("name").GetString() + " " + string.Join(",", k.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())))
            .ToArray();
        Assert.Equal(196, expected.Length);

        string[] actual;
        long count;
        using (var unet = new UNet())
        {
            actual = unet.state_dict().Select(kv => kv.Key + " " + string.Join(",", kv.Value.shape)).ToArray();
            count = unet.parameters().Sum(p => p.numel());
        }

        GC.Collect(); // the 133M-parameter model's memory goes back now, not at some later test
        Assert.Equal(expected, actual);
        Assert.Equal(133_417_219, count);
        Assert.Equal(133_417_219, doc.RootElement.GetProperty("parameter_counts").GetProperty("[128, 256, 512, 1024]").GetInt64());
    }

    [Theory]
    [InlineData(new[] { 64, 128, 256, 512 }, 33_600_643)]
    [InlineData(new[] { 32, 64, 128, 256 }, 8_523_331)]
    public void ParameterCountsEqualTheBooksModel(int[] hiddenDims, long expected)
    {
        using var unet = new UNet(new UNetOptions { HiddenDims = hiddenDims });
        Assert.Equal(expected, unet.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void AttentionSitsOnlyAtTheLastDownLevelTheMiddleAndTheLastUpLevel()
    {
        using var unet = new UNet(new UNetOptions { HiddenDims = [8, 16, 24, 32], ImageSize = 16 });
        string[] qkv = unet.state_dict().Keys.Where(k => k.EndsWith("to_qkv.weight", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["down_blocks.2.2.fn.fn.to_qkv.weight", "mid_attn.fn.fn.to_qkv.weight", "up_blocks.2.2.fn.fn.to_qkv.weight"], qkv);
        Assert.Equal([384L, 24, 1, 1], unet.state_dict()["down_blocks.2.2.fn.fn.to_qkv.weight"].shape);
        Assert.Equal([1L, 16, 1, 1], unet.state_dict()["up_blocks.2.2.fn.norm.g"].shape);
        Assert.Equal([16L, 32, 1, 1], unet.state_dict()["down_blocks.0.3.1.weight"].shape); // space-to-depth conv: 4·8 -> 16
        Assert.Equal([32L, 24, 3, 3], unet.state_dict()["down_blocks.2.3.weight"].shape);   // last down transition: 3x3
        Assert.Equal([24L, 32, 3, 3], unet.state_dict()["up_blocks.0.3.1.weight"].shape);   // upsample then 3x3
        Assert.Equal([8L, 16, 3, 3], unet.state_dict()["up_blocks.2.3.weight"].shape);      // last up transition: 3x3
    }

    [Fact]
    public void FreshWeightsFollowPyTorchsDefaultInitialisation()
    {
        using var scope = NewDisposeScope();
        using var unet = new UNet(new UNetOptions { HiddenDims = [8, 16, 24], ImageSize = 8 });
        foreach ((string name, Tensor p) in unet.named_parameters())
        {
            Assert.True(p.isfinite().all().item<bool>(), $"{name} has non-finite values");
            if (name.Contains(".norm", StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal))
            {
                Assert.True(p.eq(1).all().item<bool>(), $"{name} should start at 1");
            }
            else if (name.Contains(".norm", StringComparison.Ordinal) && name.EndsWith(".bias", StringComparison.Ordinal))
            {
                Assert.True(p.eq(0).all().item<bool>(), $"{name} should start at 0");
            }
            else if (name.EndsWith(".g", StringComparison.Ordinal))
            {
                Assert.True(p.eq(1).all().item<bool>(), $"{name} should start at 1");
            }
            else
            {
                // Linear and Conv2d: kaiming_uniform(a = sqrt(5)) and the bias both lie in ±1/sqrt(fan_in).
                string weightName = name.EndsWith(".bias", StringComparison.Ordinal) ? name[..^4] + "weight" : name;
                Tensor weight = unet.state_dict()[weightName];
                double bound = 1 / Math.Sqrt(weight.numel() / weight.shape[0]);
                double max = p.abs().max().item<float>();
                Assert.True(max <= bound && max > bound / 4, $"{name}: max |value| {max} for bound {bound}");
            }
        }
    }

    [Fact]
    public void ConstructorCastsToBFloat16AndRejectsOtherDtypes()
    {
        using var unet = new UNet(new UNetOptions { HiddenDims = [8, 16], ImageSize = 8 }, dtype: ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, unet.DType);
        Assert.All(unet.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        var e = Assert.Throws<ArgumentException>(() => new UNet(dtype: ScalarType.Float16));
        Assert.Equal("dtype must be Float32 or BFloat16; got Float16. (Parameter 'dtype')", e.Message);
    }

    [Fact]
    public void OptionsAreExposedAndOutChannelsSetsConvOut()
    {
        var options = new UNetOptions { InChannels = 1, OutChannels = 2, HiddenDims = [8, 16], ImageSize = 8 };
        using var unet = new UNet(options);
        Assert.Equal(options, unet.Options);
        Assert.Equal([2L, 8, 1, 1], unet.state_dict()["conv_out.weight"].shape);
        Assert.Equal([8L, 1, 3, 3], unet.state_dict()["init_conv.weight"].shape);
        Assert.Equal(ScalarType.Float32, unet.DType);
        Assert.Equal(DeviceType.CPU, unet.Device.type);
    }
}
