using System.Diagnostics;
using Diffusion.Benchmarks.Workloads;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks.Compare;

/// <summary>
/// <c>compare --mode sample</c>: how much of a DDIM sampling step is not the U-Net. Runs
/// <see cref="DiffusionPipeline.Generate"/> with the U-Net wrapped in a <see cref="TimedModel"/>, so the
/// overhead (scheduler step, casts, starting noise, the final clamp and copy) is measured in the same run as
/// the U-Net time, step for step; a bare forward timing is reported beside it as a cross-check.
/// </summary>
internal static class SamplingOverhead
{
    public static void Measure(CompareOptions o, Dictionary<string, object?> result)
    {
        torch.manual_seed(0);
        using var unet = new UNet(new UNetOptions { HiddenDims = o.HiddenDims, ImageSize = o.ImageSize }, BenchmarkEnvironment.Device, o.DType);
        unet.eval();
        using var timed = new TimedModel(unet);
        using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
        var pipeline = new DiffusionPipeline(timed, scheduler, channels: 3, imageSize: o.ImageSize);

        // Warm-up: kernels chosen, allocator primed.
        pipeline.Generate(o.Batch, inferenceSteps: Math.Max(1, o.Warmup), seed: 1).Dispose();

        var totals = new List<double>();
        var insides = new List<double>();
        int steps = Math.Max(1, o.Steps);
        for (int run = 0; run < 3; run++)
        {
            timed.Reset();
            long start = Stopwatch.GetTimestamp();
            pipeline.Generate(o.Batch, inferenceSteps: steps, seed: 2).Dispose();
            totals.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            insides.Add(timed.Inside.TotalMilliseconds);
        }

        List<double> overheadShare = [.. totals.Zip(insides, (t, u) => (t - u) / t)];

        // The same sampling with the bare U-Net (no clocks inside, so on a GPU the host may run ahead of the device
        // as in real use), against bare forward passes on a prepared input: what a sampling step costs beyond the U-Net.
        var plainPipeline = new DiffusionPipeline(unet, scheduler);
        var plain = new List<double>();
        for (int run = 0; run < 3; run++)
        {
            long start = Stopwatch.GetTimestamp();
            plainPipeline.Generate(o.Batch, inferenceSteps: steps, seed: 2).Dispose();
            plain.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds / steps);
        }

        using Tensor x = randn([o.Batch, 3, o.ImageSize, o.ImageSize]).to(BenchmarkEnvironment.Device).to(o.DType);
        using Tensor t500 = tensor(500L).to(BenchmarkEnvironment.Device);
        List<double> forward = CompareCommand.Time(() =>
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            for (int i = 0; i < steps; i++)
            {
                unet.call(x, t500);
            }

            BenchmarkEnvironment.Synchronize();
        }, steps: 3, warmup: 1).Select(ms => ms / steps).ToList();
        double plainStep = BenchmarkEnvironment.Median(plain), bareStep = BenchmarkEnvironment.Median(forward);

        result["batch"] = o.Batch;
        result["inference_steps"] = steps;
        result["sample_ms"] = totals;
        result["unet_ms_inside_sample"] = insides;
        result["step_ms_median"] = BenchmarkEnvironment.Median(totals) / steps;
        result["overhead_ms_per_step_median"] = BenchmarkEnvironment.Median([.. totals.Zip(insides, (t, u) => (t - u) / steps)]);
        result["overhead_fraction_median"] = BenchmarkEnvironment.Median(overheadShare);
        result["bare_forward_ms"] = forward;
        result["bare_forward_ms_median"] = bareStep;
        result["hidden_dims"] = string.Join(",", o.HiddenDims);
        result["image_size"] = o.ImageSize;
        result["plain_step_ms"] = plain;
        result["plain_step_ms_median"] = plainStep;
        result["plain_overhead_fraction"] = (plainStep - bareStep) / plainStep;
    }
}
