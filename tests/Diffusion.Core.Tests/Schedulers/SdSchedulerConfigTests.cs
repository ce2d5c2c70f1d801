using System.Text.Json;
using System.Text.Json.Nodes;
using Diffusion.Schedulers;
using static TorchSharp.torch;

namespace Diffusion.Tests.Schedulers;

/// <summary>LMS, Heun and UniPC: diffusers' saved configs in and out, every new option's validation, SetBeginIndex's checks.</summary>
public sealed class SdSchedulerConfigTests
{
    /// <summary>Keys our JSON adds to diffusers' (diffusers ignores them) — ours, not diffusers'.</summary>
    private static readonly HashSet<string> OurExtras = ["lms_order"];

    [Theory]
    [InlineData("lms_scheduler_config.json", typeof(LmsDiscreteScheduler))]
    [InlineData("heun_scheduler_config.json", typeof(HeunDiscreteScheduler))]
    [InlineData("unipc_scheduler_config.json", typeof(UniPCMultistepScheduler))]
    public void DiffusersSavedConfigLoadsRunsAndSavesBackEqual(string file, Type type)
    {
        // Written by diffusers' configuration_utils (save_config) in tools/reference/schedulers_lms_heun_unipc.py.
        string path = Path.Combine(TestEnvironment.ReferenceDir, "schedulers", "configs", file);
        using var scope = NewDisposeScope();
        INoiseScheduler scheduler = SchedulerConfig.Load(path);
        using var owned = (IDisposable)scheduler;
        Assert.IsType(type, scheduler);

        // Runs: a few steps of the stand-in model stay finite.
        scheduler.SetTimesteps(12);
        Tensor x = SchedulerReference.Pseudo([1, 2, 3, 3], 7) * scheduler.InitNoiseSigma;
        for (int k = 0; k < 6; k++)
        {
            Tensor t = scheduler.Timesteps[k];
            x = scheduler.Step(SchedulerReference.Model(scheduler.ScaleModelInput(x, t), t.to_type(ScalarType.Float64).item<double>()), t, x).PrevSample;
        }

        Assert.False(x.isnan().any().item<bool>() || x.isinf().any().item<bool>());

        // Saves back equal: every key diffusers wrote has the same value, except diffusers' metadata and the keys of
        // features we load only at their defaults (not written back; diffusers fills in the same defaults).
        JsonObject original = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        JsonObject saved = JsonNode.Parse(SchedulerConfig.ToJson(scheduler))!.AsObject();
        foreach (var (key, value) in original)
        {
            if (key == "_diffusers_version")
            {
                continue;
            }

            if (saved.TryGetPropertyValue(key, out JsonNode? ours))
            {
                Assert.True(JsonNode.DeepEquals(Normalize(value), Normalize(ours)), $"{file}: \"{key}\" saved as {ours?.ToJsonString()}, diffusers wrote {value?.ToJsonString()}");
            }
            else
            {
                Assert.True(value is null || value.GetValueKind() == JsonValueKind.False || value.ToJsonString() is "1.0" or "1" or "\"exponential\"", $"{file}: \"{key}\" = {value?.ToJsonString()} was dropped");
            }
        }

        Assert.All(saved.Select(p => p.Key), key => Assert.True(original.ContainsKey(key) || OurExtras.Contains(key), $"{file}: we wrote \"{key}\", which diffusers does not have"));

        // And reading what we wrote gives the same options again.
        using var back = (IDisposable)SchedulerConfig.FromJson(saved.ToJsonString());
        Assert.Equal(SchedulerConfig.ToJson(scheduler), SchedulerConfig.ToJson((INoiseScheduler)back));
    }

    [Fact]
    public void ToJsonRoundTripsEveryNewOption()
    {
        INoiseScheduler[] schedulers =
        [
            new LmsDiscreteScheduler(new LmsDiscreteSchedulerOptions { LmsOrder = 2, UseKarrasSigmas = true, PredictionType = PredictionType.VPrediction }),
            new HeunDiscreteScheduler(new HeunDiscreteSchedulerOptions { ClipSample = true, ClipSampleRange = 0.5, TimestepSpacing = TimestepSpacing.Trailing }),
            new UniPCMultistepScheduler(new UniPCMultistepSchedulerOptions { SolverType = UniPCSolverType.Bh1, SolverOrder = 3, DisableCorrector = [0, 3], PredictX0 = false, FinalSigmasType = FinalSigmasType.SigmaMin, SigmaMin = 0.1, LowerOrderFinal = false }),
        ];
        foreach (INoiseScheduler scheduler in schedulers)
        {
            string json = SchedulerConfig.ToJson(scheduler);
            using var back = (IDisposable)SchedulerConfig.FromJson(json);
            Assert.Equal(json, SchedulerConfig.ToJson((INoiseScheduler)back));
            ((IDisposable)scheduler).Dispose();
        }

        using var unipc = (UniPCMultistepScheduler)SchedulerConfig.FromJson("""{"_class_name":"UniPCMultistepScheduler","solver_type":"logrho","disable_corrector":[1,2],"solver_p":null,"shift_terminal":null,"use_flow_sigmas":false,"flow_shift":1.0,"time_shift_type":"exponential"}""");
        Assert.Equal(UniPCSolverType.Bh2, unipc.Options.SolverType);
        Assert.Equal([1, 2], unipc.Options.DisableCorrector);
        Assert.Contains("\"disable_corrector\": [\n    1,\n    2\n  ]", SchedulerConfig.ToJson(unipc).ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"_class_name":"UniPCMultistepScheduler","disable_corrector":"0"}""", "scheduler config key \"disable_corrector\" must be an array of whole numbers; got \"0\".")]
    [InlineData("""{"_class_name":"UniPCMultistepScheduler","disable_corrector":[0.5]}""", "scheduler config key \"disable_corrector\" must be an array of whole numbers; got [0.5].")]
    [InlineData("""{"_class_name":"UniPCMultistepScheduler","solver_type":"bh3"}""", "scheduler config key \"solver_type\" must be one of \"bh2\", \"bh1\", \"midpoint\", \"heun\", \"logrho\"; got \"bh3\".")]
    [InlineData("""{"_class_name":"UniPCMultistepScheduler","prediction_type":"flow_prediction"}""", "scheduler config key \"prediction_type\" must be one of \"epsilon\", \"v_prediction\", \"sample\"; got \"flow_prediction\".")]
    [InlineData("""{"_class_name":"UniPCMultistepScheduler","use_flow_sigmas":true}""", "scheduler config key \"use_flow_sigmas\" is only supported at its default false (UniPCMultistepScheduler feature not implemented here); got true.")]
    [InlineData("""{"_class_name":"UniPCMultistepScheduler","solver_p":{"_class_name":"DDIMScheduler"}}""", "scheduler config key \"solver_p\" is only supported at its default null (UniPCMultistepScheduler feature not implemented here); got {\"_class_name\":\"DDIMScheduler\"}.")]
    [InlineData("""{"_class_name":"UniPCMultistepScheduler","shift_terminal":0.5}""", "scheduler config key \"shift_terminal\" is only supported at its default null (UniPCMultistepScheduler feature not implemented here); got 0.5.")]
    [InlineData("""{"_class_name":"LMSDiscreteScheduler","lms_order":2.5}""", "scheduler config key \"lms_order\" must be a whole number; got 2.5.")]
    [InlineData("""{"_class_name":"LMSDiscreteScheduler","use_beta_sigmas":true}""", "scheduler config key \"use_beta_sigmas\" is only supported at its default false (LMSDiscreteScheduler feature not implemented here); got true.")]
    [InlineData("""{"_class_name":"HeunDiscreteScheduler","beta_schedule":"exp"}""", "scheduler config key \"beta_schedule\" must be one of \"linear\", \"scaled_linear\", \"squaredcos_cap_v2\", \"clipped_cosine\"; got \"exp\".")]
    [InlineData("""{"_class_name":"HeunDiscreteScheduler","use_beta_sigmas":true}""", "scheduler config key \"use_beta_sigmas\" is only supported at its default false (HeunDiscreteScheduler feature not implemented here); got true.")]
    [InlineData("""{"_class_name":"HeunDiscreteScheduler","clip_sample":1}""", "scheduler config key \"clip_sample\" must be true or false; got 1.")]
    public void WrongJsonValuesNameTheKey(string json, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => SchedulerConfig.FromJson(json));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void OptionsValidationNamesEveryNewOption()
    {
        string nl = Environment.NewLine;
        var lms = Assert.Throws<ArgumentException>(() => new LmsDiscreteScheduler(new LmsDiscreteSchedulerOptions { LmsOrder = 5, BetaEnd = 2 }));
        Assert.Equal($"LmsDiscreteSchedulerOptions is invalid:{nl} - BetaEnd (beta_end) must lie in (0, 1); got 2{nl} - LmsOrder (lms_order) must be 1, 2, 3 or 4; got 5 (Parameter 'options')", lms.Message);

        var heun = Assert.Throws<ArgumentException>(() => new HeunDiscreteScheduler(new HeunDiscreteSchedulerOptions { ClipSample = true, ClipSampleRange = 0, UseKarrasSigmas = true, UseExponentialSigmas = true }));
        Assert.Contains("ClipSampleRange (clip_sample_range) must be positive; got 0", heun.Message, StringComparison.Ordinal);
        Assert.Contains("UseKarrasSigmas (use_karras_sigmas) and UseExponentialSigmas (use_exponential_sigmas) cannot both be true; got both", heun.Message, StringComparison.Ordinal);

        var unipc = Assert.Throws<ArgumentException>(() => new UniPCMultistepScheduler(new UniPCMultistepSchedulerOptions
        {
            SolverOrder = 4, SolverType = (UniPCSolverType)7, FinalSigmasType = FinalSigmasType.Zero, PredictX0 = false, Thresholding = true,
            DynamicThresholdingRatio = 0, DisableCorrector = [2, -1], SigmaMin = 5, SigmaMax = 1,
        }));
        Assert.Contains("DynamicThresholdingRatio (dynamic_thresholding_ratio) must lie in (0, 1]; got 0", unipc.Message, StringComparison.Ordinal);
        Assert.Contains("SolverType (solver_type) must be one of Bh1, Bh2; got 7", unipc.Message, StringComparison.Ordinal);
        Assert.Contains("SolverOrder (solver_order) must be 1, 2 or 3; got 4", unipc.Message, StringComparison.Ordinal);
        Assert.Contains("PredictX0 (predict_x0) false needs FinalSigmasType (final_sigmas_type) SigmaMin", unipc.Message, StringComparison.Ordinal);
        Assert.Contains("Thresholding (thresholding) needs PredictX0 (predict_x0) true; got false", unipc.Message, StringComparison.Ordinal);
        Assert.Contains("DisableCorrector (disable_corrector) must hold step indices (0 or more); got -1", unipc.Message, StringComparison.Ordinal);
        Assert.Contains("SigmaMin (sigma_min) must be below SigmaMax (sigma_max); got 5 >= 1", unipc.Message, StringComparison.Ordinal);

        var final = Assert.Throws<ArgumentException>(() => new UniPCMultistepScheduler(new UniPCMultistepSchedulerOptions { LowerOrderFinal = false, DisableCorrector = null! }));
        Assert.Contains("LowerOrderFinal (lower_order_final) false needs FinalSigmasType (final_sigmas_type) SigmaMin when SolverOrder (solver_order) > 1", final.Message, StringComparison.Ordinal);
        Assert.Contains("DisableCorrector (disable_corrector) must be a list of step indices; got null", final.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SetBeginIndexChecksItsIndex()
    {
        using var scope = NewDisposeScope();
        using var heun = new HeunDiscreteScheduler();
        heun.SetTimesteps(10);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => heun.SetBeginIndex(19));
        Assert.Equal("beginIndex", range.ParamName);
        Assert.StartsWith("beginIndex must lie in [0, 18] (an index into the 19 timesteps set by SetTimesteps); got 19.", range.Message, StringComparison.Ordinal);

        using var lms = new LmsDiscreteScheduler();
        var early = Assert.Throws<InvalidOperationException>(() => lms.SetBeginIndex(0));
        Assert.StartsWith("LmsDiscreteScheduler.SetBeginIndex was called before SetTimesteps", early.Message, StringComparison.Ordinal);

        // SetTimesteps clears the begin index (diffusers): the first timestep starts the schedule again.
        using var unipc = new UniPCMultistepScheduler();
        unipc.SetTimesteps(10);
        unipc.SetBeginIndex(3);
        unipc.SetTimesteps(10);
        Tensor x = zeros(1, 3, 4, 4);
        Assert.Equal(x.shape, unipc.Step(x, unipc.Timesteps[0], x).PrevSample.shape);
    }

    /// <summary>Numbers compare by value (diffusers writes 1.0, we write 1).</summary>
    private static JsonNode? Normalize(JsonNode? node) => node switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => JsonValue.Create(v.GetValue<double>()),
        JsonArray a => new JsonArray([.. a.Select(Normalize)]),
        _ => node?.DeepClone(),
    };
}
