using Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Schedulers;

/// <summary>Bad arguments give clear exceptions; the messages are part of the contract.</summary>
public sealed class SchedulerErrorTests
{
    public static TheoryData<string> Names() => ["ddpm", "ddim", "euler-leading", "dpm++2", "euler-a", "pndm"];

    /// <summary>Those whose Timesteps hold one element per inference step (PNDM's repeat one).</summary>
    public static TheoryData<string> OneTimestepPerStep() => ["ddpm", "ddim", "euler-leading", "dpm++2", "euler-a-v"];

    [Theory]
    [MemberData(nameof(Names))]
    public void SetTimestepsRejectsZeroAndTooManySteps(string name)
    {
        using var scheduler = (IDisposable)SchedulerConformanceTests.Create(name);
        var noise = (INoiseScheduler)scheduler;
        var zero = Assert.Throws<ArgumentOutOfRangeException>(() => noise.SetTimesteps(0));
        Assert.Equal("numInferenceSteps", zero.ParamName);
        Assert.StartsWith("numInferenceSteps must be at least 1; got 0.", zero.Message, StringComparison.Ordinal);
        var many = Assert.Throws<ArgumentOutOfRangeException>(() => noise.SetTimesteps(1001));
        Assert.StartsWith("numInferenceSteps must not exceed NumTrainTimesteps (1000); got 1001.", many.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void StepBeforeSetTimestepsIsInvalidOperation(string name)
    {
        using var scope = NewDisposeScope();
        using var scheduler = (IDisposable)SchedulerConformanceTests.Create(name);
        var noise = (INoiseScheduler)scheduler;
        Tensor x = zeros(1, 3, 4, 4);
        var e = Assert.Throws<InvalidOperationException>(() => noise.Step(x, tensor(999L), x));
        Assert.Equal($"{scheduler.GetType().Name}.Step was called before SetTimesteps: call SetTimesteps(numInferenceSteps) first.", e.Message);
    }

    [Theory]
    [MemberData(nameof(OneTimestepPerStep))]
    public void TimestepOutsideTheScheduleIsRejected(string name)
    {
        using var scope = NewDisposeScope();
        using var scheduler = (IDisposable)SchedulerConformanceTests.Create(name);
        var noise = (INoiseScheduler)scheduler;
        noise.SetTimesteps(50);
        Tensor x = zeros(1, 3, 4, 4);
        var e = Assert.Throws<ArgumentException>(() => noise.Step(x, tensor(981L), x));
        Assert.Equal("timestep", e.ParamName);
        Assert.StartsWith("timestep 981 is not one of the 50 inference timesteps set by SetTimesteps; pass an element of Timesteps.", e.Message, StringComparison.Ordinal);

        var shape = Assert.Throws<ArgumentException>(() => noise.Step(x, tensor(new long[] { 980, 960 }), x));
        Assert.StartsWith("timestep must be a scalar tensor (one element); got shape [2].", shape.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void SetBeginIndexNeedsSetTimestepsAndAnIndexIntoTimesteps(string name)
    {
        using var scheduler = (IDisposable)SchedulerConformanceTests.Create(name);
        var noise = (INoiseScheduler)scheduler;
        var early = Assert.Throws<InvalidOperationException>(() => noise.SetBeginIndex(0));
        Assert.Equal($"{scheduler.GetType().Name}.SetBeginIndex was called before SetTimesteps: call SetTimesteps(numInferenceSteps) first (it clears the begin index).", early.Message);

        noise.SetTimesteps(10);
        long count = noise.Timesteps.shape[0];
        foreach (int bad in new[] { -1, (int)count })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => noise.SetBeginIndex(bad));
            Assert.Equal("beginIndex", e.ParamName);
            Assert.StartsWith($"beginIndex must lie in [0, {count - 1}] (an index into the {count} timesteps set by SetTimesteps); got {bad}.", e.Message, StringComparison.Ordinal);
        }

        noise.SetBeginIndex((int)count - 1);
    }

    [Fact]
    public void PndmRungeKuttaWarmUpNeedsFourStepsAndTheStart()
    {
        using var prk = new PNDMScheduler();
        var few = Assert.Throws<ArgumentOutOfRangeException>(() => prk.SetTimesteps(3));
        Assert.StartsWith("numInferenceSteps must be at least 4 when SkipPrkSteps (skip_prk_steps) is false (the Runge-Kutta warm-up takes three steps); got 3.", few.Message, StringComparison.Ordinal);
        prk.SetTimesteps(10);
        prk.SetBeginIndex(0);
        var mid = Assert.Throws<InvalidOperationException>(() => prk.SetBeginIndex(4));
        Assert.Equal("PNDMScheduler cannot start at step 4 with SkipPrkSteps (skip_prk_steps) false: its Runge-Kutta warm-up has to run over the first 12 timesteps. Use SkipPrkSteps = true (Stable Diffusion's setting) for image-to-image.", mid.Message);

        using var scope = NewDisposeScope();
        using var plms = new PNDMScheduler(SchedulerConformanceTests.StableDiffusionPndm);
        plms.SetTimesteps(50);
        Tensor x = zeros(1, 3, 4, 4);
        var missing = Assert.Throws<ArgumentException>(() => plms.Step(x, tensor(980L), x));
        Assert.StartsWith("timestep 980 is not one of the 51 inference timesteps set by SetTimesteps; pass an element of Timesteps.", missing.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.0, 50, "strength must lie in (0, 1]; got 0.")]
    [InlineData(-0.5, 50, "strength must lie in (0, 1]; got -0.5.")]
    [InlineData(1.01, 50, "strength must lie in (0, 1]; got 1.01.")]
    [InlineData(double.NaN, 50, "strength must lie in (0, 1]; got NaN.")]
    [InlineData(0.01, 50, "strength × inferenceSteps must be at least 1 (one denoising step); got 0.01 × 50 = 0.5.")]
    public void ImageToImageStrengthIsChecked(double strength, int steps, string message)
    {
        using var scheduler = new EulerAncestralDiscreteScheduler();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ImageToImageTimesteps.ForStrength(scheduler, steps, strength));
        Assert.Equal("strength", e.ParamName);
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StepChecksShapesAndNoiseArguments()
    {
        using var scope = NewDisposeScope();
        using var scheduler = new DdimScheduler(new DdimSchedulerOptions { Eta = 1 });
        scheduler.SetTimesteps(50);
        Tensor x = zeros(1, 3, 4, 4);
        Tensor t = scheduler.Timesteps[0];
        var shape = Assert.Throws<ArgumentException>(() => scheduler.Step(zeros(1, 3, 4, 5), t, x));
        Assert.StartsWith("modelOutput must have the shape of sample, [1,3,4,4]; got [1,3,4,5].", shape.Message, StringComparison.Ordinal);

        using var generator = new Generator(1);
        var both = Assert.Throws<ArgumentException>(() => scheduler.Step(x, t, x, generator, zeros(1, 3, 4, 4)));
        Assert.StartsWith("Pass either generator or varianceNoise, not both.", both.Message, StringComparison.Ordinal);

        var noiseShape = Assert.Throws<ArgumentException>(() => scheduler.Step(x, t, x, varianceNoise: zeros(1, 3, 4)));
        Assert.StartsWith("varianceNoise must have shape [1,3,4,4]; got [1,3,4].", noiseShape.Message, StringComparison.Ordinal);

        var fraction = Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.Step(x, tensor(980.5f), x));
        Assert.StartsWith("timestep must be a whole number in [0, 999]; got 980.5.", fraction.Message, StringComparison.Ordinal);

        using var ddpm = new DdpmScheduler(new DdpmSchedulerOptions { VarianceType = VarianceType.LearnedRange });
        ddpm.SetTimesteps(10);
        var learned = Assert.Throws<ArgumentException>(() => ddpm.Step(x, ddpm.Timesteps[0], x));
        Assert.StartsWith("modelOutput must be [1,6,4,4] (prediction and variance channels) with a learned variance; got [1,3,4,4].", learned.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddNoiseChecksTimesteps()
    {
        using var scope = NewDisposeScope();
        using var scheduler = new DdpmScheduler();
        Tensor x = zeros(2, 3, 4, 4);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.AddNoise(x, x, tensor(new long[] { 0, 1000 })));
        Assert.StartsWith("timesteps must lie in [0, 999]; got values from 0 to 1000.", range.Message, StringComparison.Ordinal);
        var dtype = Assert.Throws<ArgumentException>(() => scheduler.AddNoise(x, x, tensor(new float[] { 0, 10 })));
        Assert.StartsWith("timesteps must be an integer tensor (int64) of training timesteps; got dtype Float32.", dtype.Message, StringComparison.Ordinal);
        var batch = Assert.Throws<ArgumentException>(() => scheduler.AddNoise(x, x, tensor(new long[] { 0, 1, 2 })));
        Assert.StartsWith("timesteps must hold one timestep per sample (2) or a single one; got shape [3].", batch.Message, StringComparison.Ordinal);
        var noise = Assert.Throws<ArgumentException>(() => scheduler.AddNoise(x, zeros(2, 3, 4), tensor(new long[] { 0, 1 })));
        Assert.StartsWith("noise must have the shape of originalSamples, [2,3,4,4]; got [2,3,4].", noise.Message, StringComparison.Ordinal);

        using var euler = new EulerDiscreteScheduler();
        euler.SetTimesteps(10);
        var missing = Assert.Throws<ArgumentException>(() => euler.AddNoise(x, x, tensor(new long[] { 999, 500 })));
        Assert.StartsWith("timesteps 500 is not one of the 10 inference timesteps set by SetTimesteps", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OptionsValidationListsEveryViolation()
    {
        var e = Assert.Throws<ArgumentException>(() => new DdimScheduler(new DdimSchedulerOptions { NumTrainTimesteps = 1, BetaStart = -0.1, BetaEnd = 1.5, Eta = 2, StepsOffset = -1 }));
        Assert.Equal("options", e.ParamName);
        string nl = Environment.NewLine;
        Assert.StartsWith(
            $"DdimSchedulerOptions is invalid:{nl}"
            + $" - NumTrainTimesteps (num_train_timesteps) must be at least 2; got 1{nl}"
            + $" - BetaStart (beta_start) must lie in [0, 1); got -0.1{nl}"
            + $" - BetaEnd (beta_end) must lie in (0, 1); got 1.5{nl}"
            + $" - StepsOffset (steps_offset) must lie in [0, NumTrainTimesteps); got -1{nl}"
            + " - Eta (eta) must lie in [0, 1]; got 2",
            e.Message,
            StringComparison.Ordinal);

        var dpm = Assert.Throws<ArgumentException>(() => new DpmSolverMultistepScheduler(new DpmSolverMultistepSchedulerOptions { AlgorithmType = DpmSolverAlgorithmType.SdeDpmSolver, SolverOrder = 3, VarianceType = VarianceType.FixedSmall, PredictionType = PredictionType.Sample }));
        Assert.Contains("FinalSigmasType (final_sigmas_type) Zero is not supported with AlgorithmType (algorithm_type) SdeDpmSolver; use SigmaMin", dpm.Message, StringComparison.Ordinal);
        Assert.Contains("SolverOrder (solver_order) 3 is not available for AlgorithmType (algorithm_type) SdeDpmSolver", dpm.Message, StringComparison.Ordinal);
        Assert.Contains("VarianceType (variance_type) must be null, Learned or LearnedRange; got FixedSmall", dpm.Message, StringComparison.Ordinal);
        Assert.Contains("VarianceType (variance_type) FixedSmall needs PredictionType (prediction_type) Epsilon; got Sample", dpm.Message, StringComparison.Ordinal);

        var euler = Assert.Throws<ArgumentException>(() => new EulerDiscreteScheduler(new EulerDiscreteSchedulerOptions { SigmaMin = 5, SigmaMax = 1, TrainedBetas = [0.1, 2] }));
        Assert.Contains("TrainedBetas (trained_betas) must hold NumTrainTimesteps (1000) values; got 2", euler.Message, StringComparison.Ordinal);
        Assert.Contains("TrainedBetas (trained_betas) must all lie in [0, 1); got 1 outside, e.g. 2", euler.Message, StringComparison.Ordinal);
        Assert.Contains("SigmaMin (sigma_min) must be below SigmaMax (sigma_max); got 5 >= 1", euler.Message, StringComparison.Ordinal);

        var ancestral = Assert.Throws<ArgumentException>(() => new EulerAncestralDiscreteScheduler(new EulerAncestralDiscreteSchedulerOptions { PredictionType = PredictionType.Sample, BetaEnd = 0, TimestepSpacing = (TimestepSpacing)7, StepsOffset = 1000 }));
        Assert.Equal("options", ancestral.ParamName);
        Assert.StartsWith($"EulerAncestralDiscreteSchedulerOptions is invalid:{nl}", ancestral.Message, StringComparison.Ordinal);
        Assert.Contains("TimestepSpacing (timestep_spacing) must be one of Leading, Trailing, Linspace; got 7", ancestral.Message, StringComparison.Ordinal);
        Assert.Contains("BetaEnd (beta_end) must lie in (0, 1); got 0", ancestral.Message, StringComparison.Ordinal);
        Assert.Contains("StepsOffset (steps_offset) must lie in [0, NumTrainTimesteps); got 1000", ancestral.Message, StringComparison.Ordinal);
        Assert.Contains("PredictionType (prediction_type) must be Epsilon or VPrediction for EulerAncestralDiscreteScheduler (diffusers has no x0 prediction there); got Sample", ancestral.Message, StringComparison.Ordinal);

        var pndm = Assert.Throws<ArgumentException>(() => new PNDMScheduler(new PNDMSchedulerOptions { PredictionType = PredictionType.Sample, NumTrainTimesteps = 1, BetaSchedule = (BetaSchedule)9 }));
        Assert.StartsWith($"PNDMSchedulerOptions is invalid:{nl} - NumTrainTimesteps (num_train_timesteps) must be at least 2; got 1{nl}", pndm.Message, StringComparison.Ordinal);
        Assert.Contains("BetaSchedule (beta_schedule) must be one of Linear, ScaledLinear, SquaredCosCapV2, ClippedCosine; got 9", pndm.Message, StringComparison.Ordinal);
        Assert.Contains("PredictionType (prediction_type) must be Epsilon or VPrediction for PNDMScheduler (diffusers has no x0 prediction there); got Sample", pndm.Message, StringComparison.Ordinal);

        var pndmOffset = Assert.Throws<ArgumentOutOfRangeException>(() => new PNDMScheduler(new PNDMSchedulerOptions { StepsOffset = 1, SkipPrkSteps = true }).SetTimesteps(1000));
        Assert.StartsWith("StepsOffset (steps_offset) 1 with 1000 Leading steps gives timestep 1000, beyond the last training timestep (999)", pndmOffset.Message, StringComparison.Ordinal);

        var offset = Assert.Throws<ArgumentOutOfRangeException>(() => new DdpmScheduler(new DdpmSchedulerOptions { StepsOffset = 1 }).SetTimesteps(1000));
        Assert.StartsWith("StepsOffset (steps_offset) 1 with 1000 Leading steps gives timestep 1000, beyond the last training timestep (999)", offset.Message, StringComparison.Ordinal);
    }
}
