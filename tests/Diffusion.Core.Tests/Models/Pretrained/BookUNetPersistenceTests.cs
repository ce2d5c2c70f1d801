using System.Text.Json.Nodes;
using Diffusion.Models;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models.Pretrained;

/// <summary>
/// The book's <see cref="UNet"/> and <see cref="ConditionalUNet"/> save and load with their options
/// (<c>config.json</c> + safetensors), and <see cref="PretrainedModel"/> opens any folder this library writes.
/// </summary>
public sealed class BookUNetPersistenceTests
{
    private static readonly UNetOptions Tiny = new() { HiddenDims = [8, 16, 24], ImageSize = 8, NormGroups = 4, AttentionHeads = 2, AttentionHeadDim = 4, InChannels = 1, OutChannels = 2 };

    private static UNet NewUNet()
    {
        manual_seed(3);
        return new UNet(Tiny);
    }

    private static ConditionalUNet NewConditional()
    {
        manual_seed(4);
        return new ConditionalUNet(new ConditionalUNetOptions
        {
            UNet = Tiny,
            ContextDim = 6,
            NumClasses = 3,
            CrossAttentionLevels = new CrossAttentionLevels { DownLevels = [1], Middle = true, UpLevels = [] },
            CrossAttentionHeads = 2,
            CrossAttentionHeadDim = 4,
        });
    }

    private static Tensor Run(UNet model)
    {
        using var _ = no_grad();
        var generator = new TorchSharp.torch.Generator(7);
        return model.call(randn([2, 1, 8, 8], generator: generator), tensor(new long[] { 3, 700 }));
    }

    private static Tensor Run(ConditionalUNet model)
    {
        using var _ = no_grad();
        var generator = new TorchSharp.torch.Generator(8);
        return model.call(randn([2, 1, 8, 8], generator: generator), tensor(new long[] { 3, 700 }), randn([2, 5, 6], generator: generator), tensor(new long[] { 0, 3 }));
    }

    [Fact]
    public void UNetLoadsBackWithItsOptionsAndTheSameOutput()
    {
        using var scope = NewDisposeScope();
        using UNet model = NewUNet();
        using var temp = TestEnvironment.CreateTempDirectory();
        model.SavePretrained(temp.Path);

        JsonObject config = JsonNode.Parse(File.ReadAllText(Path.Combine(temp.Path, "config.json")))!.AsObject();
        Assert.Equal("UNet", (string?)config["_class_name"]);
        Assert.Equal([8, 16, 24], config["hidden_dims"]!.AsArray().Select(n => (int)n!));

        using UNet reloaded = UNet.FromPretrained(temp.Path);
        Assert.Equal(model.Options, reloaded.Options);
        Assert.Equal(0f, (Run(model) - Run(reloaded)).abs().max().item<float>());
        Assert.False(reloaded.training);
    }

    [Fact]
    public void ConditionalUNetLoadsBackWithItsOptionsAndTheSameOutput()
    {
        using var scope = NewDisposeScope();
        using ConditionalUNet model = NewConditional();
        using var temp = TestEnvironment.CreateTempDirectory();
        model.SavePretrained(temp.Path);

        using ConditionalUNet reloaded = ConditionalUNet.FromPretrained(temp.Path);
        Assert.Equal(model.Options, reloaded.Options);
        Assert.Equal([1], reloaded.Options.CrossAttentionLevels.DownLevels!);
        Assert.Equal(0f, (Run(model) - Run(reloaded)).abs().max().item<float>());
    }

    [Fact]
    public void PretrainedModelOpensEachClassByItsClassName()
    {
        using var scope = NewDisposeScope();
        using var temp = TestEnvironment.CreateTempDirectory();
        string unetDir = Path.Combine(temp.Path, "unet"), conditionalDir = Path.Combine(temp.Path, "conditional"), diffusersDir = Path.Combine(temp.Path, "unet2d");
        using (UNet u = NewUNet())
        {
            u.SavePretrained(unetDir);
        }

        using (ConditionalUNet c = NewConditional())
        {
            c.SavePretrained(conditionalDir);
        }

        using (var d = new UNet2DModel(TinyUNet2DModel.Config))
        {
            d.SavePretrained(diffusersDir);
        }

        using (var m = PretrainedModel.FromPretrained(unetDir))
        {
            Assert.IsType<UNet>(m);
        }

        using (var m = PretrainedModel.FromPretrained(conditionalDir, dtype: ScalarType.BFloat16))
        {
            Assert.Equal(ScalarType.BFloat16, Assert.IsType<ConditionalUNet>(m).DType);
        }

        using (var m = PretrainedModel.FromPretrained(diffusersDir))
        {
            Assert.IsType<UNet2DModel>(m);
        }

        // The recorded config rebuilds the architecture (fresh weights) without knowing the class.
        using var rebuilt = PretrainedModel.FromConfigJson(File.ReadAllText(Path.Combine(conditionalDir, "config.json")));
        Assert.Equal(NewConditional().Options, Assert.IsType<ConditionalUNet>(rebuilt).Options);
    }

    [Fact]
    public void WrongClassMissingClassNameAndMisfitWeightsAreNamed()
    {
        using var scope = NewDisposeScope();
        using var temp = TestEnvironment.CreateTempDirectory();
        using (ConditionalUNet c = NewConditional())
        {
            c.SavePretrained(temp.Path);
        }

        var wrongClass = Assert.Throws<InvalidDataException>(() => UNet.FromPretrained(temp.Path));
        Assert.Contains("ConditionalUNet.FromPretrained", wrongClass.Message, StringComparison.Ordinal);
        Assert.Contains("config.json", wrongClass.Message, StringComparison.Ordinal);

        var noClass = Assert.Throws<InvalidDataException>(() => PretrainedModel.FromConfigJson("{\"hidden_dims\": [8, 16]}"));
        Assert.Contains("_class_name", noClass.Message, StringComparison.Ordinal);
        var unknownClass = Assert.Throws<InvalidDataException>(() => PretrainedModel.FromConfigJson("{\"_class_name\": \"VQModel\"}"));
        Assert.Contains("VQModel", unknownClass.Message, StringComparison.Ordinal);
        var broken = Assert.Throws<InvalidDataException>(() => PretrainedModel.FromConfigJson("{\"_class_name\": \"UNet\", \"hidden_dims\": [8]}"));
        Assert.StartsWith("the model config: not a UNet", broken.Message, StringComparison.Ordinal);   // the rules, as a folder's config.json gets them
        Assert.Contains("HiddenDims", broken.Message, StringComparison.Ordinal);
        var mistyped = Assert.Throws<InvalidDataException>(() => PretrainedModel.FromConfigJson("{\"_class_name\": \"UNet\", \"hidden_dims\": \"wide\"}"));
        Assert.StartsWith("the model config: ", mistyped.Message, StringComparison.Ordinal);

        string configPath = Path.Combine(temp.Path, "config.json");
        JsonObject config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config["hidden_dims"] = new JsonArray(8, 32, 24); // a wrong digit must be caught before 32-wide layers are built
        File.WriteAllText(configPath, config.ToJsonString());
        var misfit = Assert.Throws<InvalidDataException>(() => ConditionalUNet.FromPretrained(temp.Path));
        Assert.Contains("diffusion_pytorch_model.safetensors", misfit.Message, StringComparison.Ordinal);
        Assert.Contains("down_blocks.1.0.conv1.weight", misfit.Message, StringComparison.Ordinal);

        config["hidden_dims"] = "wide";
        File.WriteAllText(configPath, config.ToJsonString());
        var wrongType = Assert.Throws<InvalidDataException>(() => PretrainedModel.FromPretrained(temp.Path));
        Assert.Contains("hidden_dims", wrongType.Message, StringComparison.Ordinal);
    }
}
