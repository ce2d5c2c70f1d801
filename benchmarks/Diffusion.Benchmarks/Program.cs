using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Diffusion.Benchmarks;
using Diffusion.Benchmarks.Compare;
using Diffusion.Benchmarks.Reporting;

// Commands: "compare ..." (our side of benchmarks/compare.sh), "profile ..." (time per U-Net part),
// "gpu check|bench" (benchmarks/gpu/run-on-device.sh),
// anything else goes to BenchmarkDotNet, after our own options:
//   --threads N        libtorch intra-op threads (default 1; reported in every row)
//   --quick            1 warm-up + 2 measured iterations instead of ShortRun's 3 + 3
//   --malloc default   leave glibc's malloc as it is (default: keep freed memory, docs/performance.md)
//   --cpu              stay on the CPU even when a GPU is found
if (args.Length > 0 && args[0] == "compare")
{
    return CompareCommand.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "gpu")
{
    return GpuCommand.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "profile")
{
    return ProfileCommand.Run(args[1..]);
}

int threads = 1;
bool quick = false, keepFreed = true, cpu = false;
var rest = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--threads" when i + 1 < args.Length && int.TryParse(args[i + 1], out int n) && n > 0:
            threads = n;
            i++;
            break;
        case "--quick":
            quick = true;
            break;
        case "--malloc" when i + 1 < args.Length:
            keepFreed = args[++i] != "default";
            break;
        case "--cpu":
            cpu = true;
            break;
        default:
            rest.Add(args[i]);
            break;
    }
}

BenchmarkEnvironment.Initialise(threads, keepFreed, allowCuda: !cpu);
Console.WriteLine($"# {BenchmarkEnvironment.Describe()}");

// In-process: BenchmarkDotNet's generated projects would not get the Debian 12 libstdc++ fix
// that our build applies to the output folder, and libtorch is the same either way.
Job job = quick
    ? Job.ShortRun.WithWarmupCount(1).WithIterationCount(2).WithId("Quick")
    : Job.ShortRun;
IConfig config = DefaultConfig.Instance
    // An hour per case instead of the in-process default of five minutes: one 512×512 VAE decode on one CPU thread
    // takes tens of seconds, and a case runs it four times (jitting, warm-up, two iterations).
    .AddJob(job.WithToolchain(new InProcessEmitToolchain(TimeSpan.FromHours(1), logOutput: true)))
    .AddColumn(new EnvironmentColumn("Device", () => BenchmarkEnvironment.DeviceName))
    .AddColumn(new EnvironmentColumn("Threads", () => BenchmarkEnvironment.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture)))
    .AddColumn(new ImagesPerSecondColumn())
    .AddColumn(new NativeMemoryColumn())
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run([.. rest], config);
Console.WriteLine($"# after: load {BenchmarkEnvironment.LoadAverage()}");
return 0;
