using Diffusion.Optimization;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Training;

/// <summary><see cref="TrainingOptions.InitialStep"/>: a run from weights that already had some steps continues their schedule.</summary>
public sealed class InitialStepTests
{
    [Fact]
    public void TheFirstStepsTakeTheContinuedSchedulesLearningRate()
    {
        using var scope = NewDisposeScope();
        var options = TinySetup.Options() with { WarmupSteps = 10, InitialStep = 4, MomentWarmupSteps = 2, LearningRateSchedule = LearningRateSchedule.Cosine };
        var seen = new List<(long Step, double LearningRate)>();
        var progress = new SynchronousProgress<TrainingProgress>(p => seen.Add((p.Step, p.LearningRate)));

        TrainingResult result = new Trainer(TinySetup.Model(), TinySetup.Scheduler(), options with { MaxSteps = 8 }).Fit(TinySetup.Flowers(16), progress);

        // Steps 5..8 of the run that the weights came from (0-based optimizer steps 4..7), on the schedule
        // that ends at MaxSteps, not a warm-up from 0 again; the two moment-filling batches are no steps.
        var schedule = new WarmupCosineSchedule(options.LearningRate, options.WarmupSteps, 8);
        Assert.Equal([5L, 6, 7, 8], seen.Select(s => s.Step));
        Assert.Equal([.. Enumerable.Range(4, 4).Select(i => schedule.LearningRateAt(i))], seen.Select(s => s.LearningRate));
        Assert.Equal(options.LearningRate * 4 / 10, seen[0].LearningRate, 15);
        Assert.Equal(8, result.Steps);
        Assert.Equal(4, result.StepsThisRun);
        Assert.Null(result.ResumedFromStep);
    }

    [Fact]
    public void PastTheWarmUpAConstantScheduleRunsAtThePeakFromItsFirstStep()
    {
        // The Flowers sample's case: committed weights past their warm-up, constant learning rate.
        using var scope = NewDisposeScope();
        var options = TinySetup.Options() with { WarmupSteps = 100, InitialStep = 588, MaxSteps = 591, MomentWarmupSteps = 1, LearningRateSchedule = LearningRateSchedule.Constant };
        var rates = new List<double>();
        var fresh = new List<double>();

        new Trainer(TinySetup.Model(), TinySetup.Scheduler(), options).Fit(TinySetup.Flowers(16), new SynchronousProgress<TrainingProgress>(p => rates.Add(p.LearningRate)));
        new Trainer(TinySetup.Model(), TinySetup.Scheduler(), options with { InitialStep = 0, MaxSteps = 3 })
            .Fit(TinySetup.Flowers(16), new SynchronousProgress<TrainingProgress>(p => fresh.Add(p.LearningRate)));

        Assert.Equal([options.LearningRate, options.LearningRate, options.LearningRate], rates);
        Assert.Equal([0, options.LearningRate / 100, 2 * options.LearningRate / 100], fresh); // what it replaces
    }

    [Fact]
    public void ACheckpointCarriesItsOwnStepAndWins()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var options = TinySetup.Options(dir.Path) with { InitialStep = 10, MomentWarmupSteps = 1 };
        TrainingResult first = new Trainer(TinySetup.Model(), TinySetup.Scheduler(), options with { MaxSteps = 12 }).Fit(TinySetup.Flowers(16));
        TrainingResult second = new Trainer(TinySetup.Model(), TinySetup.Scheduler(), options with { InitialStep = 1000, MaxSteps = 14 }).Fit(TinySetup.Flowers(16));

        Assert.Equal(12, first.Steps);
        Assert.EndsWith(Path.GetFileName(TrainingCheckpoint.PathFor(dir.Path, 12)), first.LastCheckpoint);
        Assert.Equal(12, second.ResumedFromStep);
        Assert.Equal(14, second.Steps);
    }

    [Fact]
    public void FilledMomentsMakeTheFirstStepSmallerThanEmptyOnes()
    {
        // From empty moments AdamW's first step is ±lr on every weight (m̂/√v̂ = g/|g|); after a few batches of
        // gradients, |m̂|/√v̂ < 1 wherever the gradients vary. Both runs start from the same weights and take
        // one real step (step 5) at the same learning rate. Measured: 0.27 against 1.2 (= ±lr on each of the
        // ~300k weights).
        using var scope = NewDisposeScope();
        var options = TinySetup.Options() with { InitialStep = 4, MaxSteps = 5, UseEma = false, WarmupSteps = 0, LearningRateSchedule = LearningRateSchedule.Constant };
        double Change(int momentSteps)
        {
            var unet = TinySetup.Model();
            Tensor[] before = [.. unet.parameters().Select(p => p.detach().clone())];
            var rates = new List<double>();
            new Trainer(unet, TinySetup.Scheduler(), options with { MomentWarmupSteps = momentSteps })
                .Fit(TinySetup.Flowers(32), new SynchronousProgress<TrainingProgress>(p => rates.Add(p.LearningRate)));
            Assert.Equal([options.LearningRate], rates);
            return unet.parameters().Zip(before, (p, b) => (p - b).square().sum().item<float>()).Sum();
        }

        double fromEmpty = Change(0);
        double fromFilled = Change(6);

        Assert.True(fromFilled < 0.7 * fromEmpty, $"squared weight change {fromFilled:G3} with filled moments vs {fromEmpty:G3} from empty ones");
    }

    [Fact]
    public void MomentFillingLeavesTheWeightsBitForBit()
    {
        // Cancelled during the moment-filling batches: the weights are the starting ones exactly.
        using var scope = NewDisposeScope();
        var unet = TinySetup.Model();
        Tensor[] before = [.. unet.parameters().Select(p => p.detach().clone())];
        var options = TinySetup.Options() with { InitialStep = 4, MaxSteps = 10, UseEma = false, MomentWarmupSteps = 1000, MaxDuration = TimeSpan.FromSeconds(2) };

        TrainingResult result = new Trainer(unet, TinySetup.Scheduler(), options).Fit(TinySetup.Flowers(16));

        Assert.Equal(4, result.Steps);
        Assert.Equal(0, result.StepsThisRun);
        Assert.All(unet.parameters().Zip(before), pair => Assert.True(pair.First.eq(pair.Second).all().item<bool>()));
    }

    [Fact]
    public void ANegativeInitialStepIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new TrainerOptions { InitialStep = -1, MomentWarmupSteps = -2 }.Validate());
        string nl = Environment.NewLine;
        Assert.Equal($"TrainerOptions is invalid:{nl} - InitialStep must be 0 or more; got -1{nl} - MomentWarmupSteps must be 0 or more; got -2 (Parameter 'options')", e.Message);
    }
}
