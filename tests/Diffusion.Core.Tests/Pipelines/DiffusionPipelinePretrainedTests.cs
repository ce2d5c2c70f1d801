using System.Text.Json.Nodes;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using static TorchSharp.torch;

namespace Diffusion.Tests.Pipelines;

/// <summary>
/// <see cref="DiffusionPipeline.FromPretrained"/> and <see cref="DiffusionPipeline.SavePretrained"/>: our folders load back,
/// diffusers' folders (tests/reference/pipelines, written by tools/reference/pipelines.py with diffusers' own UNet2DModel,
/// schedulers and config writer) give diffusers' images, and bad folders are refused with messages naming the file.
/// </summary>
public sealed class DiffusionPipelinePretrainedTests
{
    // Absolute, on images in [0, 1]. The U-Net alone matches diffusers to ~1e-6 of its output's scale (a few float32
    // ulps per op over ~30 layers; see UNet2DModelParityTests), and its outputs here are of order 1. A DDIM/DDPM step
    // maps an error δε in the prediction to at most (sqrt(ᾱ_prev/ᾱ_t) + 1)·δε in x_{t-1} and carries an error in x_t on
    // with factor sqrt(ᾱ_prev/ᾱ_t) (less where clip_sample clamps x̂0); over the whole loop these factors multiply to at
    // most 1/sqrt(ᾱ_901) ≈ 60 for the linear schedule. So ~1e-6 × 60 × 10 steps ≈ 6e-4 in x in the worst case if every
    // step's error lined up, ~1e-4 if they add as random errors, halved by x/2 + 0.5. 5e-4 holds on AVX2 and AVX-512
    // reduction orders; a wrong timestep, noise draw, schedule or weight moves pixels by 1e-2 or more.
    private const double ImageTolerance = 5e-4;

    private static readonly string Dir = Path.Combine(TestEnvironment.ReferenceDir, "pipelines");

    private static UNet2DModel TinyModel()
    {
        manual_seed(11);
        return new UNet2DModel(TinyUNet2DModel.Config with { SampleSize = 8 });
    }

    [Theory]
    [InlineData("ddpm", "DDPMPipeline", "DDPMScheduler")]
    [InlineData("ddim", "DDIMPipeline", "DDIMScheduler")]
    public void SavedFolderLoadsBackAndGivesTheSameImages(string scheduler, string pipelineClass, string schedulerClass)
    {
        using var scope = NewDisposeScope();
        using var temp = TestEnvironment.CreateTempDirectory();
        using UNet2DModel model = TinyModel();
        using INoiseScheduler original = scheduler == "ddpm" ? new DdpmScheduler(new DdpmSchedulerOptions { NumTrainTimesteps = 500 }) : new DdimScheduler(new DdimSchedulerOptions { Eta = 0.5 });
        using var pipeline = new DiffusionPipeline(model, original, 3, 8);
        Tensor before = pipeline.Generate(2, inferenceSteps: 5, seed: 3);
        pipeline.SavePretrained(temp.Path);

        JsonNode index = JsonNode.Parse(File.ReadAllText(Path.Combine(temp.Path, "model_index.json")))!;
        Assert.Equal(pipelineClass, (string?)index["_class_name"]);
        Assert.Equal(schedulerClass, (string?)index["scheduler"]![1]);
        Assert.Equal("UNet2DModel", (string?)index["unet"]![1]);

        using var loaded = DiffusionPipeline.FromPretrained(temp.Path);
        Assert.Equal(original.GetType(), loaded.Scheduler.GetType());
        Assert.Equal(SchedulerConfig.ToJson(original), SchedulerConfig.ToJson(loaded.Scheduler));
        Assert.Equal((3, 8), (loaded.Channels, loaded.ImageSize));
        Tensor after = loaded.Generate(2, inferenceSteps: 5, seed: 3);
        Assert.True((before - after).abs().max().item<float>() == 0, "same weights, scheduler and seed must give bit-identical images");
    }

    [Theory]
    [InlineData("ddim")]
    [InlineData("ddpm")]
    public void DiffusersFolderGivesDiffusersImages(string name)
    {
        using var scope = NewDisposeScope();
        string imagesPath = Path.Combine(Dir, name + "_images.safetensors");
        Tensor expected = SafeTensors.Load(imagesPath)["images"];
        using var pipeline = DiffusionPipeline.FromPretrained(Path.Combine(Dir, name));
        Assert.Equal(name == "ddim" ? typeof(DdimScheduler) : typeof(DdpmScheduler), pipeline.Scheduler.GetType());

        // tools/reference/pipelines.py: seed 1234, 2 images, 10 steps; DDIM with eta 0
        Tensor actual = pipeline.Generate(2, inferenceSteps: 10, seed: 1234);
        Assert.Equal(expected.shape, actual.shape);
        double error = (actual - expected).abs().max().item<float>();
        Assert.True(error <= ImageTolerance, $"{name}: max |ours - diffusers| = {error:E2} > {ImageTolerance:E0}");
        Assert.True(expected.std().item<float>() > 0.1, "the reference images are not flat");
    }

    [Fact]
    public void PassedSchedulerReplacesTheSavedOneAndStaysTheCallers()
    {
        using var scope = NewDisposeScope();
        using var euler = new EulerDiscreteScheduler();
        var pipeline = DiffusionPipeline.FromPretrained(Path.Combine(Dir, "ddim"), euler);
        Assert.Same(euler, pipeline.Scheduler);
        var parameters = pipeline.Model.parameters().ToList();
        using (Tensor images = pipeline.Generate(1, inferenceSteps: 3))
        {
            Assert.Equal([1L, 3, 8, 8], images.shape);
        }

        pipeline.Dispose();
        Assert.All(parameters, p => Assert.True(p.IsInvalid, "a FromPretrained pipeline disposes the model it loaded"));
        euler.SetTimesteps(4); // still usable: the pipeline did not dispose the caller's scheduler
        Assert.Equal(4, euler.Timesteps.shape[0]);
        Assert.Throws<ObjectDisposedException>(() => pipeline.Generate(1));
    }

    [Fact]
    public void ConstructedPipelineDisposesNothing()
    {
        using var scope = NewDisposeScope();
        using UNet2DModel model = TinyModel();
        using var scheduler = new DdimScheduler();
        var pipeline = new DiffusionPipeline(model, scheduler, 3, 8);
        pipeline.Dispose();
        Assert.All(model.parameters(), p => Assert.False(p.IsInvalid));
        using var noGrad = no_grad();
        Assert.Equal([1L, 3, 8, 8], model.call(zeros(1, 3, 8, 8), tensor(5L)).shape);
        scheduler.SetTimesteps(3);
        Assert.Throws<ObjectDisposedException>(() => pipeline.Generate(1));
    }

    [Fact]
    public void BareUNetFolderSamplesWithDefaultDdpm()
    {
        using var pipeline = DiffusionPipeline.FromPretrained(Path.Combine(Dir, "ddim", "unet"));
        var ddpm = Assert.IsType<DdpmScheduler>(pipeline.Scheduler);
        Assert.Equal(SchedulerConfig.ToJson(new DdpmScheduler()), SchedulerConfig.ToJson(ddpm));
        Assert.Equal((3, 8), (pipeline.Channels, pipeline.ImageSize));
    }

    [Fact]
    public void OnlyUNet2DModelWithDdpmOrDdimCanBeSaved()
    {
        using var temp = TestEnvironment.CreateTempDirectory();
        using UNet2DModel model = TinyModel();
        using var euler = new EulerDiscreteScheduler();
        using var pipeline = new DiffusionPipeline(model, euler, 3, 8);
        var e = Assert.Throws<NotSupportedException>(() => pipeline.SavePretrained(temp.Path));
        Assert.Contains("EulerDiscreteScheduler", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));

        manual_seed(0);
        using var book = new UNet(new UNetOptions { HiddenDims = [16, 32], ImageSize = 8 });
        using var ddpm = new DdpmScheduler();
        using var bookPipeline = new DiffusionPipeline(book, ddpm);
        Assert.Contains("UNet", Assert.Throws<NotSupportedException>(() => bookPipeline.SavePretrained(temp.Path)).Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    public static TheoryData<string, string, string> BadIndexes => new()
    {
        { "no unet", """{"_class_name": "DDIMPipeline", "scheduler": ["diffusers", "DDIMScheduler"]}""", "no \"unet\" component" },
        { "unknown class", """{"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"], "scheduler": ["diffusers", "PNDMScheduler"]}""", "\"StableDiffusionPipeline\"" },
        { "class not a string", """{"_class_name": 3, "unet": ["diffusers", "UNet2DModel"], "scheduler": ["diffusers", "DDIMScheduler"]}""", "\"_class_name\" must be a string" },
        { "unet not a pair", """{"_class_name": "DDPMPipeline", "unet": "UNet2DModel", "scheduler": ["diffusers", "DDPMScheduler"]}""", "\"unet\" must be" },
        { "unet of another class", """{"_class_name": "DDPMPipeline", "unet": ["diffusers", "UNet2DConditionModel"], "scheduler": ["diffusers", "DDPMScheduler"]}""", "expected UNet2DModel" },
        { "not json", "{\"_class_name\": ", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(BadIndexes))]
    public void BadModelIndexIsRefusedNamingTheFile(string what, string json, string expected)
    {
        using var temp = CopyOfReference("ddim");
        File.WriteAllText(Path.Combine(temp.Path, "model_index.json"), json);
        var e = Assert.Throws<InvalidDataException>(() => DiffusionPipeline.FromPretrained(temp.Path));
        Assert.Contains("model_index.json", e.Message);
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{what}: {e.Message}");
    }

    [Fact]
    public void MissingComponentFolderIsRefusedNamingTheFile()
    {
        using var temp = CopyOfReference("ddim");
        Directory.Delete(Path.Combine(temp.Path, "unet"), recursive: true);
        var e = Assert.Throws<FileNotFoundException>(() => DiffusionPipeline.FromPretrained(temp.Path));
        Assert.Contains(Path.Combine("unet", "config.json"), e.Message);
        Assert.Contains("\"unet\" component", e.Message);

        Directory.Delete(Path.Combine(temp.Path, "scheduler"), recursive: true);
        File.Delete(Path.Combine(temp.Path, "model_index.json"));
        var none = Assert.Throws<FileNotFoundException>(() => DiffusionPipeline.FromPretrained(temp.Path));
        Assert.Contains("no model_index.json and no config.json", none.Message);
    }

    [Fact]
    public void NonSquareOrClassConditionalUNetIsRefused()
    {
        using var temp = CopyOfReference("ddim");
        string config = Path.Combine(temp.Path, "unet", "config.json");
        JsonNode node = JsonNode.Parse(File.ReadAllText(config))!;
        node["sample_size"] = new JsonArray(8, 16);
        File.WriteAllText(config, node.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => DiffusionPipeline.FromPretrained(temp.Path));
        Assert.Contains("\"sample_size\" is [8,16]", e.Message);
        Assert.Contains("config.json", e.Message);

        node["sample_size"] = 8;
        node["num_class_embeds"] = 4;
        File.WriteAllText(config, node.ToJsonString());
        Assert.Contains("class-conditional", Assert.Throws<InvalidDataException>(() => DiffusionPipeline.FromPretrained(temp.Path)).Message);
    }

    private static TempDirectory CopyOfReference(string name)
    {
        var temp = TestEnvironment.CreateTempDirectory();
        string source = Path.Combine(Dir, name);
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(temp.Path, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        return temp;
    }
}
