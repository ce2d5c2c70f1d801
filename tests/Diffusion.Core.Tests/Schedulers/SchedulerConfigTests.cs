using Diffusion.Schedulers;
using Microsoft.Extensions.Logging;

namespace Diffusion.Tests.Schedulers;

/// <summary>diffusers' scheduler_config.json in and out.</summary>
public sealed class SchedulerConfigTests
{
    [Fact]
    public void TheBookIsOneJsonLineAway()
    {
        const string json = """{"_class_name": "DDIMScheduler", "beta_schedule": "clipped_cosine", "eta": 1.0, "use_clipped_model_output": true}""";
        using var scheduler = (DdimScheduler)SchedulerConfig.FromJson(json);
        Assert.Equal(DdimSchedulerOptions.Book, scheduler.Options);
    }

    [Fact]
    public void ReadsAStableDiffusionStyleConfigAndLogsUnknownKeys()
    {
        // Stable Diffusion v1.5's scheduler keys, under a class this library has.
        const string json = """
            {
              "_class_name": "DDIMScheduler",
              "_diffusers_version": "0.6.0",
              "beta_end": 0.012,
              "beta_schedule": "scaled_linear",
              "beta_start": 0.00085,
              "clip_sample": false,
              "num_train_timesteps": 1000,
              "set_alpha_to_one": false,
              "skip_prk_steps": true,
              "steps_offset": 1,
              "trained_betas": null
            }
            """;
        var logs = new ListLoggerFactory();
        using var scheduler = (DdimScheduler)SchedulerConfig.FromJson(json, logs);
        Assert.Equal(new DdimSchedulerOptions { BetaEnd = 0.012, BetaSchedule = BetaSchedule.ScaledLinear, BetaStart = 0.00085, ClipSample = false, SetAlphaToOne = false, StepsOffset = 1 }, scheduler.Options);
        Assert.Equal(["scheduler config key \"skip_prk_steps\" is not a DDIMScheduler option; ignored"], logs.Warnings);
    }

    [Fact]
    public void ReadsEveryClassAndDiffusersSpellings()
    {
        using var ddpm = (DdpmScheduler)SchedulerConfig.FromJson("""{"_class_name":"DDPMScheduler","variance_type":"learned_range","prediction_type":"v_prediction","trained_betas":[0.1,0.2,0.3],"num_train_timesteps":3}""");
        Assert.Equal(VarianceType.LearnedRange, ddpm.Options.VarianceType);
        Assert.Equal(PredictionType.VPrediction, ddpm.Options.PredictionType);
        Assert.Equal([0.1, 0.2, 0.3], ddpm.Options.TrainedBetas!);

        using var euler = (EulerDiscreteScheduler)SchedulerConfig.FromJson("""{"_class_name":"EulerDiscreteScheduler","use_karras_sigmas":null,"sigma_min":0.1,"interpolation_type":"log_linear","use_exponential_sigmas":false,"timestep_type":"discrete","final_sigmas_type":"sigma_min"}""");
        Assert.False(euler.Options.UseKarrasSigmas);
        Assert.Equal(0.1, euler.Options.SigmaMin);
        Assert.Equal(InterpolationType.LogLinear, euler.Options.InterpolationType);
        Assert.Equal(FinalSigmasType.SigmaMin, euler.Options.FinalSigmasType);

        // Python's json writes -Infinity bare; "deis" and "logrho" are diffusers' aliases.
        using var dpm = (DpmSolverMultistepScheduler)SchedulerConfig.FromJson("""{"_class_name":"DPMSolverMultistepScheduler","lambda_min_clipped":-Infinity,"algorithm_type":"deis","solver_type":"logrho","solver_order":3,"use_lu_lambdas":false}""");
        Assert.Equal(double.NegativeInfinity, dpm.Options.LambdaMinClipped);
        Assert.Equal(DpmSolverAlgorithmType.DpmSolverPlusPlus, dpm.Options.AlgorithmType);
        Assert.Equal(DpmSolverType.Midpoint, dpm.Options.SolverType);
        Assert.Equal(3, dpm.Options.SolverOrder);
    }

    [Fact]
    public void ToJsonRoundTripsEveryOption()
    {
        INoiseScheduler[] schedulers =
        [
            new DdpmScheduler(new DdpmSchedulerOptions { VarianceType = VarianceType.FixedLarge, Thresholding = true, TrainedBetas = Enumerable.Repeat(0.01, 1000).ToArray() }),
            new DdimScheduler(DdimSchedulerOptions.Book with { PreviousTimestepFromSchedule = true }),
            new EulerDiscreteScheduler(new EulerDiscreteSchedulerOptions { UseKarrasSigmas = true, SigmaMax = 10, TimestepSpacing = TimestepSpacing.Trailing }),
            new DpmSolverMultistepScheduler(new DpmSolverMultistepSchedulerOptions { AlgorithmType = DpmSolverAlgorithmType.SdeDpmSolver, FinalSigmasType = FinalSigmasType.SigmaMin, LambdaMinClipped = -5.1, VarianceType = VarianceType.Learned }),
            new EulerAncestralDiscreteScheduler(new EulerAncestralDiscreteSchedulerOptions { PredictionType = PredictionType.VPrediction, RescaleBetasZeroSnr = true, TimestepSpacing = TimestepSpacing.Trailing, TrainedBetas = Enumerable.Repeat(0.01, 1000).ToArray() }),
            new PNDMScheduler(new PNDMSchedulerOptions { SkipPrkSteps = true, SetAlphaToOne = true, StepsOffset = 1, BetaSchedule = BetaSchedule.SquaredCosCapV2 }),
        ];
        foreach (INoiseScheduler scheduler in schedulers)
        {
            string json = SchedulerConfig.ToJson(scheduler);
            using var back = (IDisposable)SchedulerConfig.FromJson(json);
            Assert.Equal(json, SchedulerConfig.ToJson((INoiseScheduler)back));
            Assert.Equal(scheduler.GetType(), back.GetType());
            ((IDisposable)scheduler).Dispose();
        }

        using var book = new DdimScheduler(DdimSchedulerOptions.Book);
        string text = SchedulerConfig.ToJson(book);
        Assert.StartsWith("{\n  \"_class_name\": \"DDIMScheduler\",\n  \"beta_end\": 0.02,\n  \"beta_schedule\": \"clipped_cosine\",", text.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("\"eta\": 1,", text, StringComparison.Ordinal);
        Assert.DoesNotContain("lambda_min_clipped", SchedulerConfig.ToJson(new DpmSolverMultistepScheduler()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"beta_schedule":"linear"}""", "scheduler config key \"_class_name\" must be one of \"DDPMScheduler\", \"DDIMScheduler\", \"EulerDiscreteScheduler\", \"DPMSolverMultistepScheduler\", \"EulerAncestralDiscreteScheduler\", \"PNDMScheduler\"; got no such key.")]
    [InlineData("""{"_class_name":"KDPM2DiscreteScheduler"}""", "scheduler config key \"_class_name\" must be one of \"DDPMScheduler\", \"DDIMScheduler\", \"EulerDiscreteScheduler\", \"DPMSolverMultistepScheduler\", \"EulerAncestralDiscreteScheduler\", \"PNDMScheduler\"; got \"KDPM2DiscreteScheduler\".")]
    [InlineData("""{"_class_name":"DDPMScheduler","beta_schedule":"sigmoid"}""", "scheduler config key \"beta_schedule\" must be one of \"linear\", \"scaled_linear\", \"squaredcos_cap_v2\", \"clipped_cosine\"; got \"sigmoid\".")]
    [InlineData("""{"_class_name":"DDPMScheduler","num_train_timesteps":"1000"}""", "scheduler config key \"num_train_timesteps\" must be a whole number; got \"1000\".")]
    [InlineData("""{"_class_name":"DDPMScheduler","num_train_timesteps":10.5}""", "scheduler config key \"num_train_timesteps\" must be a whole number; got 10.5.")]
    [InlineData("""{"_class_name":"DDIMScheduler","clip_sample":"yes"}""", "scheduler config key \"clip_sample\" must be true or false; got \"yes\".")]
    [InlineData("""{"_class_name":"DDIMScheduler","beta_end":null}""", "scheduler config key \"beta_end\" must be a number; got null.")]
    [InlineData("""{"_class_name":"DDPMScheduler","variance_type":"fixed_large_log"}""", "scheduler config key \"variance_type\" must be one of \"fixed_small\", \"fixed_small_log\", \"fixed_large\", \"learned\", \"learned_range\"; got \"fixed_large_log\".")]
    [InlineData("""{"_class_name":"EulerDiscreteScheduler","use_beta_sigmas":true}""", "scheduler config key \"use_beta_sigmas\" is only supported at its default false (EulerDiscreteScheduler feature not implemented here); got true.")]
    [InlineData("""{"_class_name":"DPMSolverMultistepScheduler","flow_shift":3.0}""", "scheduler config key \"flow_shift\" is only supported at its default 1 (DPMSolverMultistepScheduler feature not implemented here); got 3.0.")]
    [InlineData("""{"_class_name":"PNDMScheduler","skip_prk_steps":"yes"}""", "scheduler config key \"skip_prk_steps\" must be true or false; got \"yes\".")]
    [InlineData("""{"_class_name":"EulerAncestralDiscreteScheduler","prediction_type":"x0"}""", "scheduler config key \"prediction_type\" must be one of \"epsilon\", \"v_prediction\", \"sample\"; got \"x0\".")]
    [InlineData("""[1, 2]""", "The scheduler config must be a JSON object; got Array.")]
    public void WrongValuesGiveInvalidDataNamingTheKey(string json, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => SchedulerConfig.FromJson(json));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void MalformedJsonAndRuleBreakingValues()
    {
        var malformed = Assert.Throws<InvalidDataException>(() => SchedulerConfig.FromJson("{\"_class_name\": "));
        Assert.StartsWith("The scheduler config is not valid JSON:", malformed.Message, StringComparison.Ordinal);

        var rules = Assert.Throws<ArgumentException>(() => SchedulerConfig.FromJson("""{"_class_name":"DPMSolverMultistepScheduler","algorithm_type":"dpmsolver","solver_order":4}"""));
        Assert.Contains("SolverOrder (solver_order) must be 1, 2 or 3; got 4", rules.Message, StringComparison.Ordinal);
        Assert.Contains("FinalSigmasType (final_sigmas_type) Zero is not supported with AlgorithmType (algorithm_type) DpmSolver; use SigmaMin", rules.Message, StringComparison.Ordinal);

        using var dir = TestEnvironment.CreateTempDirectory();
        string path = Path.Combine(dir.Path, "scheduler_config.json");
        File.WriteAllText(path, "{\"_class_name\": \"DDIMScheduler\", \"eta\": \"one\"}");
        var file = Assert.Throws<InvalidDataException>(() => SchedulerConfig.Load(path));
        Assert.Equal($"{path}: scheduler config key \"eta\" must be a number; got \"one\".", file.Message);

        var foreign = Assert.Throws<ArgumentException>(() => SchedulerConfig.ToJson(new ForeignScheduler()));
        Assert.StartsWith("scheduler must be one of DDPMScheduler, DDIMScheduler, EulerDiscreteScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler, PNDMScheduler (this library's); got ForeignScheduler.", foreign.Message, StringComparison.Ordinal);
    }

    private sealed class ForeignScheduler : INoiseScheduler
    {
        public int NumTrainTimesteps => 0;

        public TorchSharp.torch.Tensor Timesteps => throw new NotSupportedException();

        public TorchSharp.torch.Tensor AlphasCumprod => throw new NotSupportedException();

        public double InitNoiseSigma => 1;

        public PredictionType PredictionType => PredictionType.Epsilon;

        public int Order => 1;

        public void SetTimesteps(int numInferenceSteps) => throw new NotSupportedException();

        public void SetBeginIndex(int beginIndex) => throw new NotSupportedException();

        public TorchSharp.torch.Tensor ScaleModelInput(TorchSharp.torch.Tensor sample, TorchSharp.torch.Tensor timestep) => throw new NotSupportedException();

        public SchedulerOutput Step(TorchSharp.torch.Tensor modelOutput, TorchSharp.torch.Tensor timestep, TorchSharp.torch.Tensor sample, TorchSharp.torch.Generator? generator = null, TorchSharp.torch.Tensor? varianceNoise = null) => throw new NotSupportedException();

        public TorchSharp.torch.Tensor AddNoise(TorchSharp.torch.Tensor originalSamples, TorchSharp.torch.Tensor noise, TorchSharp.torch.Tensor timesteps) => throw new NotSupportedException();

        public TorchSharp.torch.Tensor GetVelocity(TorchSharp.torch.Tensor sample, TorchSharp.torch.Tensor noise, TorchSharp.torch.Tensor timesteps) => throw new NotSupportedException();

        public void Dispose()
        {
        }
    }

    /// <summary>Collects warning messages.</summary>
    private sealed class ListLoggerFactory : ILoggerFactory, ILogger
    {
        public List<string> Warnings { get; } = [];

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                Warnings.Add(formatter(state, exception));
            }
        }

        public void Dispose()
        {
        }
    }
}
