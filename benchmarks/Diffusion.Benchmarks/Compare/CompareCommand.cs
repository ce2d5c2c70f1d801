using System.Diagnostics;
using System.Text.Json;
using Diffusion.Benchmarks.Workloads;
using Diffusion.IO;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks.Compare;

/// <summary>
/// <c>compare</c>: our side of benchmarks/compare.sh. Times K forward passes or K training steps of a U-Net
/// and prints one line <c>RESULT {json}</c> in the same form as benchmarks/pytorch/compare.py.
/// </summary>
/// <remarks>
/// <code>
/// dotnet run -c Release --project benchmarks/Diffusion.Benchmarks -- compare --mode forward|train|sample|peak
///     [--hidden-dims 64,128,256,512] [--image-size 64] [--batch 4] [--threads 1] [--steps 5] [--warmup 2]
///     [--dtype float32|bfloat16] [--weights DIR] [--malloc keep|default] [--size 2048] [--model book|unet2d]
/// </code>
/// With <c>--weights DIR</c> (the folder compare.py export wrote) the model loads the PyTorch weights and
/// inputs, and a forward run also reports the largest difference from PyTorch's output. <c>--model unet2d</c>
/// times <see cref="Diffusion.Models.UNet2DModel"/> at google/ddpm-cifar10-32 instead of the book's U-Net; its
/// <c>--weights</c> folder is a diffusers model folder read by <c>UNet2DModel.FromPretrained</c>. <c>--model unet2dcond</c>
/// times <see cref="Diffusion.Models.UNet2DConditionModel"/> at <see cref="UNet2DConditionShapes.Reduced"/> (forward only),
/// its <c>--weights</c> folder read by <c>UNet2DConditionModel.FromPretrained</c>.
/// </remarks>
internal static class CompareCommand
{
    public static int Run(string[] args)
    {
        CompareOptions o;
        try
        {
            o = CompareOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"compare: {e.Message}");
            Console.Error.WriteLine(CompareOptions.Usage);
            return 2;
        }

        BenchmarkEnvironment.Initialise(o.Threads, o.KeepFreedMemory, allowCuda: !o.CpuOnly);
        Console.Error.WriteLine($"# {BenchmarkEnvironment.Describe()}");
        var result = new Dictionary<string, object?>
        {
            ["side"] = "ours",
            ["mode"] = o.Mode,
            ["model"] = o.Model,
            ["dtype"] = o.DType == ScalarType.BFloat16 ? "bfloat16" : "float32",
            ["threads"] = BenchmarkEnvironment.Threads,
            ["device"] = BenchmarkEnvironment.DeviceName,
            ["malloc_keep_freed"] = BenchmarkEnvironment.KeepFreedMemory,
        };

        switch (o.Mode)
        {
            case "peak":
                Peak(o, result);
                break;
            case "forward" or "train":
                UNet(o, result);
                break;
            case "sample":
                SamplingOverhead.Measure(o, result);
                break;
            default:
                Console.Error.WriteLine($"compare: unknown --mode '{o.Mode}' (forward, train, sample, peak).");
                return 2;
        }

        result["rss_peak_mb"] = BenchmarkEnvironment.PeakRssMiB();
        result["load"] = BenchmarkEnvironment.LoadAverage();
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(result));
        return 0;
    }

    private static void UNet(CompareOptions o, Dictionary<string, object?> result)
    {
        Dictionary<string, Tensor>? io = o.Weights is null ? null : SafeTensors.Load(Path.Combine(o.Weights, "io.safetensors"));
        try
        {
            using UNetWorkload workload = CreateWorkload(o, training: o.Mode == "train", io);
            Action step = o.Mode == "train" ? () => workload.TrainStep() : () => workload.Forward();
            if (o.Mode == "forward" && io is not null && io.TryGetValue("output", out Tensor? expected))
            {
                using Tensor actual = workload.Forward(keep: true)!;
                result["max_abs_diff_vs_pytorch"] = (actual - expected).abs().max().item<float>();
            }

            var cpu = new List<double>();
            List<double> times = Time(step, o.Steps, o.Warmup, cpu);
            result["batch"] = o.Batch;
            result["steps"] = o.Steps;
            result["ms"] = times;
            result["ms_median"] = BenchmarkEnvironment.Median(times);
            result["cpu_ms"] = cpu;
            result["cpu_ms_median"] = BenchmarkEnvironment.Median(cpu);
        }
        finally
        {
            if (io is not null)
            {
                foreach (Tensor t in io.Values)
                {
                    t.Dispose();
                }
            }
        }
    }

    /// <summary>The workload <paramref name="o"/> names: the book's U-Net or UNet2DModel, with the comparison's weights when given.</summary>
    internal static UNetWorkload CreateWorkload(CompareOptions o, bool training, IReadOnlyDictionary<string, Tensor>? io = null)
    {
        if (o.Model == "unet2dcond")
        {
            return training
                ? throw new ArgumentException("--model unet2dcond times forward passes only (--mode forward).")
                : UNetWorkload.ForUNet2DCondition(o.Batch, o.DType, UNet2DConditionShapes.Reduced, o.ImageSize, o.Weights, io);
        }

        if (o.Model == "unet2d")
        {
            return UNetWorkload.ForUNet2D(o.Batch, o.DType, training, o.Weights, io);
        }

        string? weights = o.Weights is null ? null : Path.Combine(o.Weights, "weights.safetensors");
        return new UNetWorkload(new UNetShape(o.HiddenDims, o.ImageSize, o.Batch), o.DType, training, weights, io);
    }

    internal static void Peak(CompareOptions o, Dictionary<string, object?> result)
    {
        using var generator = new Generator(0, CPU);
        using Tensor a = randn([o.Size, o.Size], generator: generator).to(BenchmarkEnvironment.Device).to(o.DType);
        using Tensor b = randn([o.Size, o.Size], generator: generator).to(BenchmarkEnvironment.Device).to(o.DType);
        var cpu = new List<double>();
        List<double> times = Time(() =>
        {
            using Tensor c = mm(a, b);
            BenchmarkEnvironment.Synchronize();
        }, o.Steps, o.Warmup, cpu);
        double flops = 2.0 * o.Size * o.Size * o.Size;
        result["size"] = o.Size;
        result["ms"] = times;
        result["cpu_ms"] = cpu;
        result["gflops_cpu_best"] = flops / (cpu.Min() / 1000) / 1e9;
        result["gflops_best"] = flops / (times.Min() / 1000) / 1e9;
        result["gflops_median"] = flops / (BenchmarkEnvironment.Median(times) / 1000) / 1e9;
    }

    /// <summary>
    /// Runs <paramref name="warmup"/> untimed calls, then returns the wall-clock milliseconds of each of
    /// <paramref name="steps"/> calls; <paramref name="cpu"/>, when given, receives each call's process CPU time
    /// (with one libtorch thread a measure of work that other processes on the machine disturb far less).
    /// </summary>
    internal static List<double> Time(Action action, int steps, int warmup, List<double>? cpu = null)
    {
        for (int i = 0; i < warmup; i++)
        {
            action();
        }

        var times = new List<double>(steps);
        for (int i = 0; i < steps; i++)
        {
            TimeSpan cpuStart = Environment.CpuUsage.TotalTime;
            long start = Stopwatch.GetTimestamp();
            action();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            cpu?.Add((Environment.CpuUsage.TotalTime - cpuStart).TotalMilliseconds);
        }

        return times;
    }
}
