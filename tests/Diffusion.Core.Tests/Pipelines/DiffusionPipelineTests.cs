using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using Diffusion.Tests.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Pipelines;

public sealed class DiffusionPipelineTests
{
    private static UNet TinyUNet()
    {
        manual_seed(0);
        return new UNet(new UNetOptions { HiddenDims = [16, 32, 32], ImageSize = 8 });
    }

    public static TheoryData<string> SchedulerNames => ["ddpm", "ddim-book", "euler", "dpm-solver++", "euler-a", "pndm", "pndm-prk"];

    /// <summary>The cases of euler_a_pndm.json's "pipelines": diffusers' loop from torch.randn(seed) with the generator passed to step.</summary>
    public static TheoryData<int> DiffusersLoops() => [.. SchedulerReference.Indices("euler_a_pndm.json", "pipelines")];

    private static INoiseScheduler Make(string name) => name switch
    {
        "ddpm" => new DdpmScheduler(),
        "ddim-book" => new DdimScheduler(DdimSchedulerOptions.Book),
        "euler" => new EulerDiscreteScheduler(),
        "euler-a" => new EulerAncestralDiscreteScheduler(),
        "pndm" => new PNDMScheduler(new PNDMSchedulerOptions { SkipPrkSteps = true }),
        "pndm-prk" => new PNDMScheduler(),
        _ => new DpmSolverMultistepScheduler(),
    };

    [Theory]
    [MemberData(nameof(SchedulerNames))]
    public void EverySchedulerGivesImagesInRangeAndTheSameImagesForTheSameSeed(string name)
    {
        using var scope = NewDisposeScope();
        var pipeline = new DiffusionPipeline(TinyUNet(), Make(name));
        Tensor first = pipeline.Generate(count: 2, inferenceSteps: 4, seed: 5);
        Tensor again = pipeline.Generate(count: 2, inferenceSteps: 4, seed: 5);
        Tensor other = pipeline.Generate(count: 2, inferenceSteps: 4, seed: 6);

        Assert.Equal(new long[] { 2, 3, 8, 8 }, first.shape);
        Assert.Equal(ScalarType.Float32, first.dtype);
        Assert.True(first.min().item<float>() >= 0 && first.max().item<float>() <= 1, "images outside [0, 1]");
        Assert.True(first.eq(again).all().item<bool>(), "same seed gave different images");
        Assert.False(first.eq(other).all().item<bool>(), "different seeds gave the same images");
    }

    /// <summary>
    /// The sampling loop drives PNDM (repeated timesteps, a step counter) and Euler ancestral (noise from the seeded
    /// generator after x_T) as diffusers' pipelines do: the model sees every element of Timesteps once, in order, and
    /// the images equal diffusers' loop within the loop tolerance of AncestralAndPndmParityTests (1e-4; images are x/2 + 1/2).
    /// </summary>
    [Theory]
    [MemberData(nameof(DiffusersLoops))]
    public void NewSchedulersRunThroughTheLoopAsInDiffusers(int index)
    {
        using var scope = NewDisposeScope();
        System.Text.Json.JsonElement item = SchedulerReference.Load("euler_a_pndm.json").GetProperty("pipelines")[index];
        INoiseScheduler scheduler = SchedulerReference.Create(item.GetProperty("config"));
        using var owned = (IDisposable)scheduler;
        var model = new RecordingModel();
        var pipeline = new DiffusionPipeline(model, scheduler, channels: 3, imageSize: 4);
        Tensor images = pipeline.Generate(count: 1, inferenceSteps: item.GetProperty("num_inference_steps").GetInt32(), seed: item.GetProperty("seed").GetInt64());

        double[] timesteps = SchedulerReference.Doubles(item.GetProperty("timesteps"));
        Assert.Equal(timesteps.Select(t => (float)t), model.Seen);
        SchedulerReference.AssertClose(SchedulerReference.Floats(item.GetProperty("images")), images, 1e-4, 1e-5, SchedulerReference.Label(item.GetProperty("config")));
    }

    [Fact]
    public void StartingNoiseIsTorchRandnWithTheSeededGenerator()
    {
        // A model that predicts ε = x_t and one deterministic DDIM step to ᾱ = 1 (eta 0, no clipping) return
        // x0 = (x_T − √(1−ᾱ)·x_T)/√ᾱ, which reveals the starting noise x_T.
        using var scope = NewDisposeScope();
        var echo = new EchoModel();
        var scheduler = new DdimScheduler(new DdimSchedulerOptions { ClipSample = false, SetAlphaToOne = true });
        var pipeline = new DiffusionPipeline(echo, scheduler, channels: 3, imageSize: 4);
        Tensor images = pipeline.Generate(count: 1, inferenceSteps: 1, seed: 42);

        Tensor noise = randn([1, 3, 4, 4], generator: new Generator(42));
        scheduler.SetTimesteps(1);
        double alphaBar = scheduler.AlphasCumprod[scheduler.Timesteps[0]].item<float>();
        Tensor x0 = (noise - (Math.Sqrt(1 - alphaBar) * noise)) / Math.Sqrt(alphaBar);
        Tensor expected = (x0 / 2 + 0.5).clamp(0, 1);
        Assert.True(images.allclose(expected, rtol: 0, atol: 1e-5), "the first noise is not torch.randn(seed)");
    }

    [Fact]
    public void BatchingProgressAndCancellation()
    {
        using var scope = NewDisposeScope();
        var pipeline = new DiffusionPipeline(TinyUNet(), new DdimScheduler());
        var reports = new List<SamplingProgress>();
        Tensor images = pipeline.Generate(count: 3, inferenceSteps: 2, seed: 1, batchSize: 2, progress: new Inline<SamplingProgress>(reports.Add));
        Assert.Equal(new long[] { 3, 3, 8, 8 }, images.shape);
        Assert.Equal(4, reports.Count); // 2 batches × 2 steps
        Assert.Equal((2, 2, 1, 2), (reports[^1].Step, reports[^1].TotalSteps, reports[^1].Batch, reports[^1].Batches));

        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.Throws<OperationCanceledException>(() => pipeline.Generate(1, 2, cancellationToken: cancel.Token));
        Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Generate(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Generate(1, inferenceSteps: 1001));
    }

    [Fact]
    public void SamplingLeavesNoLiveTensorsBehind()
    {
        var pipeline = new DiffusionPipeline(TinyUNet(), new DdimScheduler());
        pipeline.Generate(1, 3).Dispose();
        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++)
        {
            pipeline.Generate(1, 3, seed: i).Dispose();
        }

        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void ForwardDiffusionFollowsTheClosedForm()
    {
        using var scope = NewDisposeScope();
        var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
        Tensor image = rand(3, 4, 4, generator: new Generator(3));
        Tensor row = ForwardDiffusion.Sample(image, scheduler, [0, 500, 999], seed: 9);
        Assert.Equal(new long[] { 3, 3, 4, 4 }, row.shape);

        Tensor noise = randn([3, 4, 4], generator: new Generator(9));
        double a = scheduler.AlphasCumprod[500].item<float>();
        Tensor expected = ((Math.Sqrt(a) * (image * 2 - 1)) + (Math.Sqrt(1 - a) * noise)) / 2 + 0.5;
        Assert.True(row[1].allclose(expected.clamp(0, 1), rtol: 0, atol: 1e-5));
        Assert.Contains("each in [0, 1000)", Assert.Throws<ArgumentException>(() => ForwardDiffusion.Sample(image, scheduler, [1000])).Message, StringComparison.Ordinal);
    }

    private sealed class EchoModel : nn.Module<Tensor, Tensor, Tensor>
    {
        public EchoModel()
            : base(nameof(EchoModel))
        {
        }

        public override Tensor forward(Tensor sample, Tensor timestep) => sample.clone();
    }

    /// <summary>x·(1 + 0.05·sin(t/50)), recording each timestep it is called with.</summary>
    private sealed class RecordingModel : nn.Module<Tensor, Tensor, Tensor>
    {
        public RecordingModel()
            : base(nameof(RecordingModel))
        {
        }

        public List<float> Seen { get; } = [];

        public override Tensor forward(Tensor sample, Tensor timestep)
        {
            double t = timestep.to_type(ScalarType.Float64).item<double>();
            Seen.Add((float)t);
            return sample * (1.0 + (0.05 * Math.Sin(t / 50.0)));
        }
    }

    private sealed class Inline<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
