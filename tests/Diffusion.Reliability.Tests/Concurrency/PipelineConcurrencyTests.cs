using Diffusion.Pipelines;
using Diffusion.Schedulers;
using Diffusion.Tests.Support;
using static TorchSharp.torch;

namespace Diffusion.Tests.Concurrency;

/// <summary>
/// A <see cref="DiffusionPipeline"/> used from several threads at once: its scheduler is stateful, so calls on
/// one pipeline run one at a time and each gives what it would give alone; pipelines with their own schedulers
/// may share one model and run in parallel.
/// </summary>
public sealed class PipelineConcurrencyTests
{
    private const int Threads = 4;

    [Fact]
    public void ConcurrentCallsOnOnePipelineAreSerialisedAndGiveTheSequentialResults()
    {
        using var scope = NewDisposeScope();
        var unet = Tiny.UNet();
        using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book); // η = 1: stochastic steps from the call's generator
        var pipeline = new DiffusionPipeline(unet, scheduler);
        Tensor[] expected = [.. Enumerable.Range(0, Threads).Select(seed => pipeline.Generate(count: 2, inferenceSteps: 12, seed: seed))];

        Tensor[] actual = RunTogether(seed => pipeline.Generate(count: 2, inferenceSteps: 12, seed: seed));

        for (int i = 0; i < Threads; i++)
        {
            Assert.True(expected[i].eq(actual[i]).all().item<bool>(), $"seed {i}: concurrent result differs from the sequential one");
        }
    }

    [Fact]
    public void ConcurrentCallsOnOneTextToImagePipelineAreSerialisedToo()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var unet = new Diffusion.Models.ConditionalUNet(new Diffusion.Models.ConditionalUNetOptions
        {
            UNet = new Diffusion.Models.UNetOptions { HiddenDims = [8, 16, 16], ImageSize = 8, NormGroups = 4, AttentionHeads = 2, AttentionHeadDim = 4 },
            ContextDim = null,
            NumClasses = 3,
        });
        using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book); // η = 1: stochastic steps from the call's generator
        var pipeline = new TextToImagePipeline(unet, null, scheduler);
        Tensor[] expected = [.. Enumerable.Range(0, Threads).Select(seed => pipeline.GenerateForClasses([seed % 3], 2, inferenceSteps: 8, seed: seed))];

        Tensor[] actual = RunTogether(seed => pipeline.GenerateForClasses([seed % 3], 2, inferenceSteps: 8, seed: seed));

        for (int i = 0; i < Threads; i++)
        {
            Assert.True(expected[i].eq(actual[i]).all().item<bool>(), $"seed {i}: concurrent result differs from the sequential one");
        }
    }

    [Fact]
    public void PipelinesWithTheirOwnSchedulersShareOneModelInParallel()
    {
        using var scope = NewDisposeScope();
        var unet = Tiny.UNet();
        DpmSolverMultistepScheduler[] schedulers = [.. Enumerable.Range(0, Threads).Select(_ => new DpmSolverMultistepScheduler())];
        try
        {
            DiffusionPipeline[] pipelines = [.. schedulers.Select(s => new DiffusionPipeline(unet, s))];
            Tensor[] expected = [.. Enumerable.Range(0, Threads).Select(i => pipelines[i].Generate(count: 2, inferenceSteps: 10, seed: i))];

            Tensor[] actual = RunTogether(i => pipelines[i].Generate(count: 2, inferenceSteps: 10, seed: i));

            for (int i = 0; i < Threads; i++)
            {
                Assert.True(expected[i].eq(actual[i]).all().item<bool>(), $"pipeline {i}: parallel result differs from the sequential one");
            }
        }
        finally
        {
            Array.ForEach(schedulers, s => s.Dispose());
        }
    }

    // Starts the calls on separate threads at the same moment; results are moved off those threads' scopes.
    private static Tensor[] RunTogether(Func<int, Tensor> call)
    {
        var results = new Tensor[Threads];
        var errors = new Exception?[Threads];
        using var start = new Barrier(Threads);
        Thread[] threads = [.. Enumerable.Range(0, Threads).Select(i => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                results[i] = call(i).DetachFromDisposeScope();
            }
            catch (Exception e)
            {
                errors[i] = e;
            }
        }))];
        Array.ForEach(threads, t => t.Start());
        Array.ForEach(threads, t => Assert.True(t.Join(TimeSpan.FromSeconds(120)), "a sampling thread hung"));
        Assert.All(errors, e => Assert.Null(e));
        return results;
    }
}
