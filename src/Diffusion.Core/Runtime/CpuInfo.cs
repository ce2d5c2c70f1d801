using System.Globalization;
using System.Runtime.InteropServices;
using X86 = System.Runtime.Intrinsics.X86;

namespace Diffusion.Runtime;

/// <summary>
/// The CPU this process runs on, as far as libtorch's speed is concerned: its model name, the vector instructions
/// libtorch's kernels pick from (AVX2, AVX-512, AVX512-BF16, AMX), and the logical processors the process may use.
/// </summary>
/// <remarks>
/// <para>
/// The same kind of cloud machine is sometimes an Intel Xeon with AMX and sometimes an AMD EPYC with AVX2 only;
/// training speed differs about 3× between them and bfloat16 is twice as fast as float32 on the first and slower
/// on the second. Print <see cref="ToString"/> beside any speed you report, and use <see cref="HasFastBFloat16"/>
/// to choose bfloat16 (<c>TrainerOptions.BFloat16</c>) only where it pays.
/// </para>
/// <para>
/// On Linux the model name and instruction flags come from <c>/proc/cpuinfo</c> (the kernel's <c>flags</c>:
/// <c>avx2</c>, <c>avx512f</c>, <c>avx512_bf16</c>, <c>amx_bf16</c>); AVX2 and AVX-512 are also taken from .NET's
/// <see cref="X86.Avx2.IsSupported"/> and <see cref="X86.Avx512F.IsSupported"/>, so other systems report those two.
/// </para>
/// <para>Two values are equal when every property is (the same CPU model, features and processor count).</para>
/// </remarks>
/// <example>
/// <code>
/// CpuInfo cpu = CpuInfo.Current;
/// Console.WriteLine($"CPU: {cpu}");   // CPU: Intel(R) Xeon(R) Platinum 8481C (AVX2, AVX-512, AVX512-BF16, AMX-BF16), 2 logical processors
/// var options = new TrainerOptions { BFloat16 = cpu.HasFastBFloat16 };
/// </code>
/// </example>
public sealed record CpuInfo
{
    private static readonly Lazy<CpuInfo> Detected = new(Detect, LazyThreadSafetyMode.ExecutionAndPublication);

    // Instances come from Current and Parse.
    private CpuInfo()
    {
    }

    /// <summary>The text used for <see cref="ModelName"/> when the system does not say.</summary>
    public const string UnknownModel = "unknown CPU";

    /// <summary>The CPU of this process, detected once (reading <c>/proc/cpuinfo</c> on Linux).</summary>
    public static CpuInfo Current => Detected.Value;

    /// <summary>The model name the system reports (<c>model name</c> in <c>/proc/cpuinfo</c>), or <see cref="UnknownModel"/>.</summary>
    public string ModelName { get; private init; } = UnknownModel;

    /// <summary>Logical processors this process may run on (<see cref="Environment.ProcessorCount"/> for <see cref="Current"/>).</summary>
    public int LogicalProcessors { get; private init; }

    /// <summary>AVX2 (with FMA): libtorch's <c>avx2</c> kernel set.</summary>
    public bool Avx2 { get; private init; }

    /// <summary>AVX-512 Foundation: libtorch's <c>avx512</c> kernel set.</summary>
    public bool Avx512 { get; private init; }

    /// <summary>AVX512-BF16 (<c>avx512_bf16</c>): bfloat16 dot products in vector registers.</summary>
    public bool Avx512BFloat16 { get; private init; }

    /// <summary>AMX with bfloat16 tiles (<c>amx_bf16</c>): the matrix units oneDNN uses for bfloat16 matrix products and convolutions.</summary>
    public bool AmxBFloat16 { get; private init; }

    /// <summary>
    /// True when bfloat16 compute is expected to be faster than float32 on this CPU: it has AMX-BF16 or AVX512-BF16.
    /// Without either, libtorch emulates bfloat16 with float32 arithmetic plus conversions, which is slower.
    /// </summary>
    public bool HasFastBFloat16 => AmxBFloat16 || Avx512BFloat16;

    /// <summary>The vector features above that are present, comma-separated (<c>"AVX2, AVX-512, AVX512-BF16"</c>), or <c>"no AVX2"</c>.</summary>
    public string VectorFeatures
    {
        get
        {
            string[] present =
            [
                .. new (bool Has, string Name)[] { (Avx2, "AVX2"), (Avx512, "AVX-512"), (Avx512BFloat16, "AVX512-BF16"), (AmxBFloat16, "AMX-BF16") }
                    .Where(f => f.Has).Select(f => f.Name),
            ];
            return present.Length == 0 ? "no AVX2" : string.Join(", ", present);
        }
    }

    /// <summary>Reads the text of a Linux <c>/proc/cpuinfo</c> (the first processor's <c>model name</c> and <c>flags</c> lines).</summary>
    /// <param name="procCpuInfo">The file's text. Lines are <c>key : value</c>; unknown keys are ignored.</param>
    /// <param name="logicalProcessors">The logical processors to report (the file lists the machine's, not the process's share).</param>
    /// <returns>The CPU the text describes. Nothing is taken from the running machine.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="procCpuInfo"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="logicalProcessors"/> is less than 1.</exception>
    public static CpuInfo Parse(string procCpuInfo, int logicalProcessors)
    {
        ArgumentNullException.ThrowIfNull(procCpuInfo);
        ArgumentOutOfRangeException.ThrowIfLessThan(logicalProcessors, 1);
        string? model = null;
        string? flags = null;
        foreach (string line in procCpuInfo.Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            string key = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            if (model is null && key == "model name" && value.Length > 0)
            {
                model = value;
            }
            else if (flags is null && key is "flags" or "Features")
            {
                flags = value;
            }
        }

        HashSet<string> set = new(
            (flags ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal);
        return new CpuInfo
        {
            ModelName = model is null ? UnknownModel : CollapseSpaces(model),
            LogicalProcessors = logicalProcessors,
            Avx2 = set.Contains("avx2"),
            Avx512 = set.Contains("avx512f"),
            Avx512BFloat16 = set.Contains("avx512_bf16"),
            AmxBFloat16 = set.Contains("amx_bf16"),
        };
    }

    /// <summary>One line: model name, vector features and logical processors.</summary>
    /// <returns>For example <c>"AMD EPYC 7B13 (AVX2), 2 logical processors"</c>.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{ModelName} ({VectorFeatures}), {LogicalProcessors} logical processor{(LogicalProcessors == 1 ? string.Empty : "s")}");

    private static CpuInfo Detect()
    {
        CpuInfo parsed = Parse(ReadProcCpuInfo(), Math.Max(1, Environment.ProcessorCount));
        return parsed with
        {
            ModelName = parsed.ModelName == UnknownModel ? RuntimeInformation.ProcessArchitecture.ToString() + " CPU" : parsed.ModelName,
            Avx2 = parsed.Avx2 || X86.Avx2.IsSupported,
            Avx512 = parsed.Avx512 || X86.Avx512F.IsSupported,
        };
    }

    private static string ReadProcCpuInfo()
    {
        if (!OperatingSystem.IsLinux())
        {
            return string.Empty;
        }

        try
        {
            return File.ReadAllText("/proc/cpuinfo");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty; // a sandbox without /proc: the intrinsics checks still answer
        }
    }

    private static string CollapseSpaces(string text) => string.Join(' ', text.Split(' ', StringSplitOptions.RemoveEmptyEntries));
}
