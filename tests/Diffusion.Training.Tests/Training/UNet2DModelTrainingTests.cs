using Diffusion.Models;
using Diffusion.Training;
using static TorchSharp.torch;

namespace Diffusion.Tests.Training;

/// <summary>The <see cref="Trainer"/> trains diffusers' <see cref="UNet2DModel"/> as it trains the book's U-Net.</summary>
public sealed class UNet2DModelTrainingTests
{
    private static UNet2DModel Model(long seed = 0)
    {
        manual_seed(seed);
        return new UNet2DModel(TinyUNet2DModel.Config with { SampleSize = TinySetup.ImageSize });
    }

    [Fact]
    public void ResumedTrainingEqualsUninterruptedTrainingAndTheEmaModelSavesAsADiffusersFolder()
    {
        using var straight = TestEnvironment.CreateTempDirectory();
        using var split = TestEnvironment.CreateTempDirectory();
        using var folder = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var data = TinySetup.Flowers(20);
        TrainerOptions Options(string path, long steps) => TinySetup.Options(path) with { MaxSteps = steps, UseEma = true, EmaDecay = 0.9 };

        using UNet2DModel trained = Model();
        TrainingResult whole = new Trainer(trained, TinySetup.Scheduler(), Options(straight.Path, 6)).Fit(data);
        new Trainer(Model(), TinySetup.Scheduler(), Options(split.Path, 3)).Fit(data);
        TrainingResult second = new Trainer(Model(seed: 99), TinySetup.Scheduler(), Options(split.Path, 6)).Fit(data);

        Assert.Equal(6, whole.Steps);
        Assert.All(whole.Losses, l => Assert.True(double.IsFinite(l)));
        Assert.Equal(3, second.ResumedFromStep);
        TinySetup.AssertSameTensors(
            TinySetup.ReadAll(TrainingCheckpoint.FindLatest(straight.Path)!),
            TinySetup.ReadAll(TrainingCheckpoint.FindLatest(split.Path)!));

        // Fit leaves the EMA weights in the model: that is what goes into the diffusers folder.
        Dictionary<string, Tensor> checkpoint = TinySetup.ReadAll(whole.LastCheckpoint!);
        trained.SavePretrained(folder.Path);
        using UNet2DModel loaded = UNet2DModel.FromPretrained(folder.Path);
        foreach ((string name, Tensor value) in loaded.state_dict())
        {
            Assert.True(value.eq(checkpoint[TrainingCheckpoint.EmaPrefix + name]).all().item<bool>(), $"'{name}' is not the EMA weight");
        }
    }
}
