using Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Schedulers;

/// <summary>What every scheduler must do, whatever its maths: the contract trainers and pipelines rely on.</summary>
public sealed class SchedulerConformanceTests
{
    public static TheoryData<string> Schedulers() =>
    [
        "ddpm", "ddpm-v", "ddpm-large-cos", "ddim", "ddim-eta1", "ddim-sample", "book", "euler-leading", "euler-trailing-v",
        "dpm++1", "dpm++2", "dpm++3", "dpm-sde++", "dpm++2-karras", "dpm-heun-sigma-min",
        "euler-a", "euler-a-v", "pndm", "pndm-exact", "pndm-prk", "pndm-v",
    ];

    /// <summary>Those whose last step ends exactly at x0 and whose σ are those of the training timesteps.</summary>
    public static TheoryData<string> ExactEndSchedulers() =>
    [
        "ddpm", "ddpm-v", "ddim", "ddim-eta1", "ddim-sample", "book", "euler-leading", "euler-trailing-v",
        "dpm++1", "dpm++2", "dpm++3", "dpm-sde++", "euler-a", "pndm-exact", "pndm-prk",
    ];

    /// <summary>
    /// A perfect noise oracle that knows x0: given x_t it returns the exact ε (or v, or x0) with
    /// x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·ε. Any correct sampler then ends at x0 (those whose last step ends at σ = 0
    /// or ᾱ = 1; DDPM's last step at t = 0 adds no noise; Euler ancestral's last σ_up is 0; PNDM's multistep
    /// combinations of one constant ε are that ε). 1e-4: float32 error of the x0 estimate
    /// (x − √(1 − ᾱ)ε)/√ᾱ at √ᾱ ≈ 0.006, which later steps do not amplify.
    /// </summary>
    [Theory]
    [MemberData(nameof(ExactEndSchedulers))]
    public void PerfectOracleRecoversX0(string name)
    {
        using var scope = NewDisposeScope();
        INoiseScheduler scheduler = Create(name);
        using var owned = (IDisposable)scheduler;
        manual_seed(3);
        Tensor x0 = rand(2, 3, 4, 4) * 1.6 - 0.8;
        using var generator = new Generator(5);
        scheduler.SetTimesteps(name.StartsWith("dpm", StringComparison.Ordinal) ? 20 : 25);
        Tensor x = randn([2, 3, 4, 4], generator: generator) * scheduler.InitNoiseSigma;
        float[] alphasCumprod = scheduler.AlphasCumprod.data<float>().ToArray();

        for (long i = 0; i < scheduler.Timesteps.shape[0]; i++)
        {
            using var step = NewDisposeScope();
            Tensor t = scheduler.Timesteps[i];
            float a = alphasCumprod[(long)t.to_type(ScalarType.Float64).item<double>()];
            Tensor input = scheduler.ScaleModelInput(x, t);
            Tensor eps = (input - (x0 * MathF.Sqrt(a))) / MathF.Sqrt(1 - a);
            Tensor prediction = scheduler.PredictionType switch
            {
                PredictionType.Epsilon => eps,
                PredictionType.Sample => x0,
                _ => (eps * MathF.Sqrt(a)) - (x0 * MathF.Sqrt(1 - a)),
            };
            x = scheduler.Step(prediction, t, x, generator: generator).PrevSample.MoveToOuterDisposeScope();
        }

        float maxError = (x - x0).abs().max().item<float>();
        Assert.True(maxError < 1e-4, $"{name}: |x - x0| up to {maxError}");
    }

    [Theory]
    [MemberData(nameof(Schedulers))]
    public void ContractHoldsForScalarInt64TimestepsAndBatches(string name)
    {
        using var scope = NewDisposeScope();
        INoiseScheduler scheduler = Create(name);
        using var owned = (IDisposable)scheduler;

        // Training side: AddNoise/GetVelocity take one int64 training timestep per sample (Euler/DPM: values of
        // their schedule, which before SetTimesteps is every training timestep).
        Assert.Equal(1000, scheduler.NumTrainTimesteps);
        Assert.Equal(ScalarType.Float32, scheduler.AlphasCumprod.dtype);
        Assert.Equal(1000, scheduler.AlphasCumprod.shape[0]);
        Tensor x0 = randn(4, 3, 8, 8);
        Tensor noise = randn(4, 3, 8, 8);
        Tensor timesteps = tensor(new long[] { 0, 10, 500, 999 });
        Tensor noisy = scheduler.AddNoise(x0, noise, timesteps);
        Assert.Equal(x0.shape, noisy.shape);
        Assert.Equal(x0.shape, scheduler.GetVelocity(x0, noise, timesteps).shape);

        // Sampling side: iterate Timesteps (highest first), pass each element as a 0-dim tensor.
        scheduler.SetTimesteps(10);
        Assert.Equal(1, scheduler.Order);
        Tensor ts = scheduler.Timesteps;
        double[] values = ts.to_type(ScalarType.Float64).data<double>().ToArray();
        Assert.True(values.Zip(values.Skip(1)).All(p => p.First >= p.Second), "Timesteps must run highest first");
        Tensor x = randn(2, 3, 8, 8) * scheduler.InitNoiseSigma;
        for (long i = 0; i < ts.shape[0]; i++)
        {
            using var step = NewDisposeScope();
            Tensor t = ts[i];
            Assert.Equal(0, t.dim());
            Tensor scalarInt64 = tensor((long)values[i]);
            Tensor timestep = values[i] == Math.Floor(values[i]) ? scalarInt64 : t; // int64 where the schedule is whole
            Tensor output = scheduler.Step(scheduler.ScaleModelInput(x, timestep) * 0.1, timestep, x, varianceNoise: randn(2, 3, 8, 8)).PrevSample;
            Assert.Equal(x.shape, output.shape);
            Assert.Equal(ScalarType.Float32, output.dtype);
            x = output.MoveToOuterDisposeScope();
        }

        Assert.False(x.isnan().any().item<bool>());
    }

    [Theory]
    [MemberData(nameof(Schedulers))]
    public void LiveTensorCountStaysFlatOverManySteps(string name)
    {
        INoiseScheduler scheduler = Create(name);
        using var owned = (IDisposable)scheduler;
        using Tensor x0 = randn(1, 3, 4, 4);
        long before = 0;
        for (int round = 0; round < 3; round++)
        {
            scheduler.SetTimesteps(10);
            using (var scope = NewDisposeScope())
            {
                Tensor x = randn(1, 3, 4, 4);
                for (long i = 0; i < scheduler.Timesteps.shape[0]; i++)
                {
                    using var step = NewDisposeScope();
                    Tensor t = scheduler.Timesteps[i];
                    x = scheduler.Step(scheduler.ScaleModelInput(x, t) * 0.1, t, x, varianceNoise: randn(1, 3, 4, 4)).PrevSample.MoveToOuterDisposeScope();
                }
            }

            long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            if (round == 0)
            {
                before = live;
            }
            else
            {
                Assert.Equal(before, live);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Schedulers))]
    public void StepWithoutADisposeScopeLeavesOnlyItsOutputs(string name)
    {
        INoiseScheduler scheduler = Create(name);
        using var owned = (IDisposable)scheduler;
        scheduler.SetTimesteps(10);
        using Tensor x = randn(1, 3, 4, 4);
        using Tensor noise = randn(1, 3, 4, 4);
        using Tensor modelOutput = x * 0.1;

        // The first steps may allocate lasting state (DPM-Solver's history of up to 3 outputs, PNDM's of 4 after its
        // 12 Runge-Kutta calls); the next must not add to it.
        int warmUpSteps = name switch { "pndm-prk" => 14, "pndm" or "pndm-exact" or "pndm-v" => 5, _ => 3 };
        for (long i = 0; i < warmUpSteps; i++)
        {
            using Tensor t = scheduler.Timesteps[i];
            SchedulerOutput warmUp = scheduler.Step(modelOutput, t, x, varianceNoise: noise);
            warmUp.PrevSample.Dispose();
            warmUp.PredOriginalSample?.Dispose();
        }

        using Tensor t1 = scheduler.Timesteps[warmUpSteps];
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (Tensor scaled = scheduler.ScaleModelInput(x, t1))
        {
            SchedulerOutput second = scheduler.Step(modelOutput, t1, x, varianceNoise: noise);
            second.PrevSample.Dispose();
            second.PredOriginalSample?.Dispose();
        }

        using (Tensor timesteps = t1.reshape(1))
        using (Tensor noisy = scheduler.AddNoise(x, noise, timesteps))
        {
        }

        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.True(after == before, $"{name}: {after - before} tensors left behind");
    }

    [Theory]
    [InlineData("euler-leading")]
    [InlineData("dpm++3")]
    [InlineData("dpm-sde++")]
    [InlineData("euler-a")]
    [InlineData("pndm")]
    [InlineData("pndm-prk")]
    public void RestartingTheLoopWithoutSetTimestepsRepeatsIt(string name)
    {
        using var scope = NewDisposeScope();
        INoiseScheduler scheduler = Create(name);
        using var owned = (IDisposable)scheduler;
        scheduler.SetTimesteps(12);
        Tensor Run()
        {
            Tensor x = SchedulerReference.Pseudo([1, 3, 4, 4], 7) * scheduler.InitNoiseSigma;
            for (long i = 0; i < scheduler.Timesteps.shape[0]; i++)
            {
                Tensor t = scheduler.Timesteps[i];
                x = scheduler.Step(SchedulerReference.Model(scheduler.ScaleModelInput(x, t), t.to_type(ScalarType.Float64).item<double>()), t, x, varianceNoise: SchedulerReference.Pseudo([1, 3, 4, 4], (int)i)).PrevSample;
            }

            return x;
        }

        Tensor first = Run();
        Tensor second = Run();
        Assert.True(first.eq(second).all().item<bool>(), $"{name}: a second loop without SetTimesteps differs from the first");
    }

    /// <summary>Stable Diffusion 1.x's saved scheduler_config.json (PNDM, PLMS only).</summary>
    internal static readonly PNDMSchedulerOptions StableDiffusionPndm = new()
    {
        BetaSchedule = BetaSchedule.ScaledLinear,
        BetaStart = 0.00085,
        BetaEnd = 0.012,
        SkipPrkSteps = true,
        StepsOffset = 1,
        SetAlphaToOne = false,
    };

    /// <summary>The schedulers of the conformance tests by name.</summary>
    internal static INoiseScheduler Create(string name) => name switch
    {
        "ddpm" => new DdpmScheduler(),
        "ddpm-v" => new DdpmScheduler(new DdpmSchedulerOptions { PredictionType = PredictionType.VPrediction, TimestepSpacing = TimestepSpacing.Trailing }),
        "ddpm-large-cos" => new DdpmScheduler(new DdpmSchedulerOptions { VarianceType = VarianceType.FixedLarge, BetaSchedule = BetaSchedule.SquaredCosCapV2 }),
        "ddim" => new DdimScheduler(),
        "ddim-eta1" => new DdimScheduler(new DdimSchedulerOptions { Eta = 1, BetaSchedule = BetaSchedule.ScaledLinear, BetaStart = 0.00085, BetaEnd = 0.012 }),
        "ddim-sample" => new DdimScheduler(new DdimSchedulerOptions { PredictionType = PredictionType.Sample, TimestepSpacing = TimestepSpacing.Linspace, PreviousTimestepFromSchedule = true }),
        "book" => new DdimScheduler(DdimSchedulerOptions.Book),
        "euler-leading" => new EulerDiscreteScheduler(new EulerDiscreteSchedulerOptions { TimestepSpacing = TimestepSpacing.Leading }),
        "euler-trailing-v" => new EulerDiscreteScheduler(new EulerDiscreteSchedulerOptions { TimestepSpacing = TimestepSpacing.Trailing, PredictionType = PredictionType.VPrediction }),
        "dpm++2" => new DpmSolverMultistepScheduler(),
        "dpm++3" => new DpmSolverMultistepScheduler(new DpmSolverMultistepSchedulerOptions { SolverOrder = 3, BetaSchedule = BetaSchedule.SquaredCosCapV2 }),
        "dpm++1" => new DpmSolverMultistepScheduler(new DpmSolverMultistepSchedulerOptions { SolverOrder = 1 }),
        "dpm-heun-sigma-min" => new DpmSolverMultistepScheduler(new DpmSolverMultistepSchedulerOptions { AlgorithmType = DpmSolverAlgorithmType.DpmSolver, SolverType = DpmSolverType.Heun, FinalSigmasType = FinalSigmasType.SigmaMin }),
        "dpm-sde++" => new DpmSolverMultistepScheduler(new DpmSolverMultistepSchedulerOptions { AlgorithmType = DpmSolverAlgorithmType.SdeDpmSolverPlusPlus, PredictionType = PredictionType.VPrediction }),
        "dpm++2-karras" => new DpmSolverMultistepScheduler(new DpmSolverMultistepSchedulerOptions { UseKarrasSigmas = true, TimestepSpacing = TimestepSpacing.Trailing }),
        "euler-a" => new EulerAncestralDiscreteScheduler(new EulerAncestralDiscreteSchedulerOptions { BetaSchedule = BetaSchedule.ScaledLinear, BetaStart = 0.00085, BetaEnd = 0.012, TimestepSpacing = TimestepSpacing.Leading, StepsOffset = 1 }),
        "euler-a-v" => new EulerAncestralDiscreteScheduler(new EulerAncestralDiscreteSchedulerOptions { PredictionType = PredictionType.VPrediction, TimestepSpacing = TimestepSpacing.Trailing, RescaleBetasZeroSnr = true }),
        "pndm" => new PNDMScheduler(StableDiffusionPndm),
        "pndm-exact" => new PNDMScheduler(StableDiffusionPndm with { SetAlphaToOne = true }),
        "pndm-prk" => new PNDMScheduler(new PNDMSchedulerOptions { SetAlphaToOne = true }),
        "pndm-v" => new PNDMScheduler(new PNDMSchedulerOptions { PredictionType = PredictionType.VPrediction, SkipPrkSteps = true, TimestepSpacing = TimestepSpacing.Trailing }),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };
}
