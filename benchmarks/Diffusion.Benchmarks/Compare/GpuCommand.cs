using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Diffusion.Benchmarks.Workloads;
using Diffusion.Data;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks.Compare;

/// <summary>
/// <c>gpu check</c> and <c>gpu bench</c>: what benchmarks/gpu/run-on-device.sh runs on a CUDA machine, each in one
/// process so that libtorch's CUDA start-up is paid once.
/// </summary>
/// <remarks>
/// <para><c>gpu check</c> compares the CUDA backend with the CPU: a U-Net forward pass with the same weights and
/// input, a <see cref="DiffusionPipeline"/> sample with the same seed (the starting noise comes from a CPU generator,
/// so the images must agree up to kernel rounding), and a short <see cref="Trainer"/> run on the GPU in float32 and
/// bfloat16. Each line is <c>CHECK {json}</c> with <c>ok</c> true or false; the exit code is the number of failures.</para>
/// <para><c>gpu bench</c> times forward passes and training steps at the configurations of <see cref="UNetBenchmarks"/>
/// plus two large batches, float32 and bfloat16, a 2048² and an 8192² matrix product, and the sampling overhead,
/// printing <c>RESULT {json}</c> lines in the form of benchmarks/pytorch/compare.py's <c>gpubench</c>.</para>
/// </remarks>
internal static class GpuCommand
{
    /// <summary>Shapes timed by <c>gpu bench</c> (and by compare.py gpubench on the PyTorch side).</summary>
    internal static readonly UNetShape[] BenchShapes =
    [
        new([128, 256, 512, 1024], 64, 1),
        new([128, 256, 512, 1024], 64, 32),
        new([64, 128, 256, 512], 64, 4),
        new([64, 128, 256, 512], 64, 64),
        new([32, 64, 128, 256], 32, 8),
        new([32, 64, 128, 256], 32, 256),
    ];

    public static int Run(string[] args)
    {
        string sub = args.Length > 0 ? args[0] : "";
        int steps = 10, shapes = BenchShapes.Length, size = 512, repeats = 3;
        bool dryRun = false;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--steps" when i + 1 < args.Length:
                    steps = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--shapes" when i + 1 < args.Length:
                    shapes = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--size" when i + 1 < args.Length:
                    size = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--repeats" when i + 1 < args.Length:
                    repeats = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--cpu-dry-run":
                    dryRun = true; // runs the code on the CPU alone, to try it out before spending GPU time
                    break;
                default:
                    return Usage();
            }
        }

        BenchmarkEnvironment.Initialise(threads: Math.Max(1, Environment.ProcessorCount), keepFreedMemory: true, allowCuda: !dryRun);
        Console.Error.WriteLine($"# {BenchmarkEnvironment.Describe()}");
        if (BenchmarkEnvironment.Device.type != DeviceType.CUDA && !dryRun)
        {
            Console.WriteLine("CHECK " + JsonSerializer.Serialize(new { name = "cuda available", ok = false, detail = "torch.cuda.is_available() is false" }));
            return 1;
        }

        Console.WriteLine("CHECK " + JsonSerializer.Serialize(new { name = "cuda available", ok = true, detail = BenchmarkEnvironment.Describe() }));
        return sub switch
        {
            "check" => Check(dryRun ? 10 : 150),
            "bench" => Bench(steps, shapes),
            "sample" => Sample(steps),
            "sd" => GpuStableDiffusion.Run(steps, size, repeats, dryRun ? ScalarType.Float32 : ScalarType.Float16),
            _ => Usage(),
        };
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: gpu check [--cpu-dry-run] | gpu bench [--steps N] [--shapes N] [--cpu-dry-run] | gpu sample [--steps N] [--cpu-dry-run] | gpu sd [--steps N] [--size PX] [--repeats N] [--cpu-dry-run]");
        return 2;
    }

    private static int Check(int trainSteps)
    {
        int failures = 0;
        void Report(string name, bool ok, object detail)
        {
            failures += ok ? 0 : 1;
            Console.WriteLine("CHECK " + JsonSerializer.Serialize(new { name, ok, detail }));
        }

        Device gpu = BenchmarkEnvironment.Device;

        // 1. Forward: same weights, same input, CPU vs CUDA, float32. libtorch's CUDA defaults let cuDNN's
        // convolutions use TF32, which rounds their inputs to 10 mantissa bits (unit roundoff 2^-11 ≈ 4.9e-4); matmuls,
        // and so attention and linear layers, stay float32. Over these models' ~20 convolutions independent roundings put
        // the relative L2 error near 1e-3, so 1e-2 leaves a tenfold margin and still catches a wrong layer.
        void CompareOnGpu(string name, nn.Module model, Func<Tensor[], Tensor> forward, params Tensor[] inputs)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            model.eval();
            Tensor onCpu = forward(inputs);
            model.to(gpu);
            Tensor onGpu = forward([.. inputs.Select(input => input.to(gpu))]).cpu();
            double maxAbs = (onGpu - onCpu).abs().max().item<float>();
            double relative = ((onGpu - onCpu).norm() / onCpu.norm()).item<float>();
            Report($"forward cpu vs cuda {name}", relative < 1e-2 && onGpu.isfinite().all().item<bool>(),
                new { max_abs = maxAbs, relative_l2 = relative, tolerance_relative_l2 = 1e-2, note = "TF32 convolutions are libtorch's default on CUDA" });
        }

        foreach (UNetShape shape in new UNetShape[] { new([32, 64, 128, 256], 32, 4), new([64, 128, 256, 512], 64, 2) })
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator(3, CPU);
            torch.manual_seed(0);
            using var unet = new UNet(new UNetOptions { HiddenDims = shape.HiddenDims, ImageSize = shape.ImageSize });
            CompareOnGpu(shape.ToString(), unet, x => unet.call(x[0], x[1]),
                randn([shape.Batch, 3, shape.ImageSize, shape.ImageSize], generator: generator),
                randint(0, 1000, [shape.Batch], dtype: int64, generator: generator));
        }

        // 1b. The diffusers-layout models, whose down/mid/up traversal is UNet2DBody's: self-attention (UNet2DModel),
        // cross-attention to random text states at a size that is not a multiple of 2^(levels − 1) (UNet2DConditionModel),
        // and the VAE's encode-then-decode.
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator(5, CPU);
            torch.manual_seed(0);
            using var unet2d = new UNet2DModel(new UNet2DModelConfig
            {
                BlockOutChannels = [32, 64], DownBlockTypes = ["DownBlock2D", "AttnDownBlock2D"], UpBlockTypes = ["AttnUpBlock2D", "UpBlock2D"],
            });
            CompareOnGpu("UNet2DModel [32, 64] with attention", unet2d, x => unet2d.call(x[0], x[1]),
                randn([2, 3, 32, 32], generator: generator), randint(0, 1000, [2], dtype: int64, generator: generator));

            using var conditioned = new UNet2DConditionModel(new UNet2DConditionModelConfig
            {
                BlockOutChannels = [32, 64], DownBlockTypes = ["CrossAttnDownBlock2D", "DownBlock2D"], UpBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D"],
                LayersPerBlock = [1], CrossAttentionDim = [32], AttentionHeadDim = [4], InChannels = 4, OutChannels = 4,
            });
            CompareOnGpu("UNet2DConditionModel [32, 64] at 24x19", conditioned, x => conditioned.call(x[0], x[1], x[2]),
                randn([2, 4, 24, 19], generator: generator), tensor(new[] { 999L, 10L }), randn([2, 7, 32], generator: generator));

            using var vae = new AutoencoderKL(new AutoencoderKLConfig
            {
                BlockOutChannels = [32, 64], DownBlockTypes = ["DownEncoderBlock2D", "DownEncoderBlock2D"],
                UpBlockTypes = ["UpDecoderBlock2D", "UpDecoderBlock2D"], LayersPerBlock = 1,
            });
            CompareOnGpu("AutoencoderKL [32, 64] decode(encode(x).Mode())", vae, x =>
            {
                using DiagonalGaussianDistribution latents = vae.Encode(x[0]);
                return vae.Decode(latents.Mode());
            },
                rand([2, 3, 32, 32], generator: generator) * 2 - 1);
        }

        // 2. Sampling: the same seed gives the same images on CPU and GPU (noise from a CPU generator).
        {
            using var scope = NewDisposeScope();
            torch.manual_seed(0);
            using var unet = new UNet(new UNetOptions { HiddenDims = [32, 64, 128, 256], ImageSize = 32 });
            unet.eval();
            using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
            var pipeline = new DiffusionPipeline(unet, scheduler);
            Tensor onCpu = pipeline.Generate(4, inferenceSteps: 20, seed: 7);
            unet.to(gpu);
            Tensor onGpu = pipeline.Generate(4, inferenceSteps: 20, seed: 7);
            double maxAbs = (onGpu - onCpu).abs().max().item<float>();
            Report("DiffusionPipeline.Generate cpu vs cuda (DDIM 20 steps, eta 1, seed 7)", maxAbs < 2e-2,
                new { max_abs_pixel = maxAbs, tolerance = 2e-2, device_of_result = onGpu.device.ToString() });
        }

        // 3. Training on the GPU, float32 and bfloat16: finite, falling loss.
        foreach (bool bf16 in new[] { false, true })
        {
            torch.manual_seed(0);
            using var unet = new UNet(new UNetOptions { HiddenDims = [32, 64, 128, 256], ImageSize = 32 });
            using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
            var trainer = new Trainer(unet, scheduler, new TrainerOptions
            {
                BatchSize = 32, MaxSteps = trainSteps, LearningRate = 1e-3, WarmupSteps = 10, BFloat16 = bf16, Device = gpu,
                LogEverySteps = 10, LoaderWorkers = 2,
            });
            var clock = System.Diagnostics.Stopwatch.StartNew();
            TrainingResult result = trainer.Fit(new ProceduralFlowers(4096, 32));
            double first = result.Losses.Take(10).Average(x => (double)x);
            double last = result.Losses.TakeLast(10).Average(x => (double)x);
            Report($"Trainer.Fit on {BenchmarkEnvironment.DeviceName} ({(bf16 ? "bfloat16" : "float32")}, {trainSteps} steps of 32 at 32 px)",
                double.IsFinite(last) && last < 0.8 * first,
                new { first_10_mean = first, last_10_mean = last, seconds = clock.Elapsed.TotalSeconds, images_per_s = trainSteps * 32 / clock.Elapsed.TotalSeconds, data_wait_s = result.DataWait.TotalSeconds });
        }

        // 4. Flat memory: live tensors after 200 sampling steps on the GPU.
        {
            torch.manual_seed(0);
            using var unet = new UNet(new UNetOptions { HiddenDims = [32, 64, 128, 256], ImageSize = 32 }, gpu);
            unet.eval();
            using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
            var pipeline = new DiffusionPipeline(unet, scheduler);
            pipeline.Generate(8, inferenceSteps: 10, seed: 1).Dispose();
            long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            for (int i = 0; i < 20; i++)
            {
                pipeline.Generate(8, inferenceSteps: 10, seed: i).Dispose();
            }

            long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            Report("live tensors flat over 200 GPU sampling steps", after == before, new { before, after });
        }

        return failures;
    }

    private static int Bench(int steps, int shapes)
    {
        var peak = new CompareOptions { Mode = "peak", Steps = steps, Warmup = 3 };
        foreach (int size in BenchmarkEnvironment.Device.type == DeviceType.CUDA ? new[] { 2048, 8192 } : [256])
        {
            foreach (ScalarType dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            {
                var result = Header("peak", dtype);
                CompareCommand.Peak(peak with { Size = size, DType = dtype }, result);
                Print(result);
            }
        }

        foreach (UNetShape shape in BenchShapes.Take(shapes))
        {
            foreach (string mode in new[] { "forward", "train" })
            {
                foreach (ScalarType dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
                {
                    var result = Header(mode, dtype);
                    result["hidden_dims"] = string.Join(",", shape.HiddenDims);
                    result["image_size"] = shape.ImageSize;
                    try
                    {
                        using var workload = new UNetWorkload(shape, dtype, training: mode == "train");
                        Action step = mode == "train" ? () => workload.TrainStep() : () => workload.Forward();
                        List<double> times = CompareCommand.Time(step, steps, warmup: 3);
                        result["batch"] = shape.Batch;
                        result["steps"] = steps;
                        result["ms"] = times;
                        result["ms_median"] = BenchmarkEnvironment.Median(times);
                        result["images_per_s"] = shape.Batch / (BenchmarkEnvironment.Median(times) / 1000);
                    }
                    catch (Exception e) when (e is ExternalException or InvalidOperationException or ArgumentException)
                    {
                        result["error"] = e.Message.Split('\n')[0];
                    }

                    Print(result);
                }
            }
        }

        var sample = Header("sample", ScalarType.Float32);
        SamplingOverhead.Measure(new CompareOptions { Mode = "sample", HiddenDims = [32, 64, 128, 256], ImageSize = 32, Batch = 8, Steps = 20 }, sample);
        Print(sample);
        return 0;
    }

    private static int Sample(int steps)
    {
        foreach (UNetShape shape in new UNetShape[] { new([32, 64, 128, 256], 32, 8), new([64, 128, 256, 512], 64, 16) })
        {
            var result = Header("sample", ScalarType.Float32);
            SamplingOverhead.Measure(new CompareOptions { Mode = "sample", HiddenDims = shape.HiddenDims, ImageSize = shape.ImageSize, Batch = shape.Batch, Steps = steps }, result);
            result["core"] = typeof(DiffusionPipeline).Assembly.ManifestModule.ModuleVersionId.ToString();
            Print(result);
        }

        return 0;
    }

    private static Dictionary<string, object?> Header(string mode, ScalarType dtype) => new()
    {
        ["side"] = "ours",
        ["mode"] = mode,
        ["dtype"] = dtype == ScalarType.BFloat16 ? "bfloat16" : "float32",
        ["device"] = BenchmarkEnvironment.DeviceName,
    };

    private static void Print(Dictionary<string, object?> result) => Console.WriteLine("RESULT " + JsonSerializer.Serialize(result));
}
