using Diffusion.IO;
using Diffusion.Tests.Support;
using Diffusion.Training;
using static TorchSharp.torch;

namespace Diffusion.Tests.Faults;

/// <summary>
/// Checkpoints that are valid safetensors but wrong as checkpoints (a tensor missing, of another shape or
/// dtype, no training state): resuming says which file and what is wrong, with an
/// <see cref="InvalidDataException"/>, and never reaches libtorch with a bad tensor.
/// </summary>
public sealed class CheckpointMalformedTests
{
    private const string FileName = "checkpoint-00000002.safetensors";

    public static TheoryData<string, string> Damages => new()
    {
        { "generator-int8", "the generator state 'rng.generator'" },
        { "generator-short", "the generator state 'rng.generator'" },
        { "no-generator", "the generator state 'rng.generator'" },
        { "no-weight", "has no weights 'model.weight'" },
        { "weight-shape", "has no weights 'model.weight' of shape [3,3,1,1]" },
        { "no-adam-moment", "lacks 'adamw.exp_avg_sq.bias'" },
        { "no-ema", "lacks EMA weights 'ema.bias'" },
        { "no-state", "not a training checkpoint" },
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public void ResumingFromAWrongCheckpointNamesTheFileAndTheProblem(string damage, string expected)
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var data = Tiny.Flowers(8, imageSize: 8);
        TrainerOptions options = Tiny.Options(temp.Path) with { MaxSteps = 2, LoaderWorkers = 1 };
        Tiny.ConvTrainer(Tiny.Conv(), options).Fit(data);
        string path = Path.Combine(temp.Path, FileName);
        File.Delete(Path.Combine(temp.Path, "checkpoint-00000001.safetensors"));

        Dictionary<string, Tensor> tensors = SafeTensors.Load(path);
        var metadata = new Dictionary<string, string>(SafeTensors.ReadHeader(path).Metadata);
        switch (damage)
        {
            case "generator-int8": tensors["rng.generator"] = tensors["rng.generator"].to(ScalarType.Int8); break;
            case "generator-short": tensors["rng.generator"] = tensors["rng.generator"][..100]; break;
            case "no-generator": tensors.Remove("rng.generator"); break;
            case "no-weight": tensors.Remove("model.weight"); break;
            case "weight-shape": tensors["model.weight"] = zeros(3, 3); break;
            case "no-adam-moment": tensors.Remove("adamw.exp_avg_sq.bias"); break;
            case "no-ema": tensors.Remove("ema.bias"); break;
            default: metadata.Clear(); break;
        }

        SafeTensors.Save(tensors, path, metadata);
        byte[] before = File.ReadAllBytes(path);
        var e = Assert.Throws<InvalidDataException>(() => Tiny.ConvTrainer(Tiny.Conv(), options with { MaxSteps = 4 }).Fit(data));
        Assert.StartsWith(path + ":", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(temp.Path));
    }
}
