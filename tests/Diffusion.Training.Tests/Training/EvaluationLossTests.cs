using Diffusion.Data;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Training;

public sealed class EvaluationLossTests
{
    private static ProceduralFlowers HeldOut => new(10, TinySetup.ImageSize, seed: 1_000_003); // 3 batches of 4, the last one short

    [Fact]
    public void TwoCallsAgreeBitForBitWhateverTheGlobalGeneratorDoes()
    {
        using var scope = NewDisposeScope();
        var trainer = new Trainer(TinySetup.Model(), TinySetup.Scheduler(), TinySetup.Options());

        manual_seed(1);
        double first = trainer.EvaluationLoss(HeldOut, seed: 5);
        manual_seed(2);
        using (Tensor drawn = randn(1000))
        {
            // the global generator is somewhere else entirely now
        }

        double second = trainer.EvaluationLoss(HeldOut, seed: 5);
        double otherSeed = trainer.EvaluationLoss(HeldOut, seed: 6);

        Assert.Equal(BitConverter.DoubleToInt64Bits(first), BitConverter.DoubleToInt64Bits(second));
        double[] perImage = trainer.EvaluationLosses(HeldOut, seed: 5);
        Assert.Equal(HeldOut.Count, perImage.Length);
        Assert.Equal(BitConverter.DoubleToInt64Bits(first), BitConverter.DoubleToInt64Bits(perImage.Average())); // the figure is their mean
        Assert.True(perImage.Distinct().Count() > 1, "each image has its own noise and timestep, so its own loss");
        Assert.NotEqual(first, otherSeed); // the seed does pick the noise and timesteps
        Assert.True(first is > 0 and < 10, $"an L1 loss of an untrained model on ε should be about 0.8-1; got {first}");
    }

    [Fact]
    public void LeavesTheGlobalGeneratorTheWeightsAndTheModeAlone()
    {
        using var scope = NewDisposeScope();
        var unet = TinySetup.Model();
        var trainer = new Trainer(unet, TinySetup.Scheduler(), TinySetup.Options());
        Dictionary<string, Tensor> before = unet.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        unet.train();

        manual_seed(42);
        trainer.EvaluationLoss(HeldOut);
        Tensor afterEvaluation = rand(4);
        manual_seed(42);
        Tensor untouched = rand(4);

        Assert.True(afterEvaluation.eq(untouched).all().item<bool>(), "EvaluationLoss drew from the global generator");
        TinySetup.AssertSameTensors(before, unet.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value));
        Assert.True(unet.training);
        Assert.All(unet.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void TrainingLowersItOnImagesTheModelNeverSaw()
    {
        using var scope = NewDisposeScope();
        var unet = TinySetup.Model();
        var trainer = new Trainer(unet, TinySetup.Scheduler(), TinySetup.Options() with { MaxSteps = 40, BatchSize = 8, UseEma = false });
        double before = trainer.EvaluationLoss(HeldOut);

        trainer.Fit(TinySetup.Flowers(64)); // seed 7; the held-out flowers have seed 1,000,003
        double after = trainer.EvaluationLoss(HeldOut);

        // TrainerTests sees the training loss fall by more than a quarter in 80 steps; half of that here.
        Assert.True(after < 0.9 * before, $"evaluation loss went from {before:F4} to {after:F4}");
        var e = Assert.Throws<ArgumentNullException>(() => trainer.EvaluationLoss(null!));
        Assert.Equal("heldOut", e.ParamName);
    }
}
