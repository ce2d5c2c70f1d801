using System.Reflection;
using Diffusion.Runtime;
using TorchSharp;

namespace Diffusion.Samples;

/// <summary>
/// The start-up every sample shares, after its command line parsed: one error path (any exception that escapes
/// the program becomes one line on standard error and an exit code, never a stack trace), glibc's allocator
/// setting, libtorch loaded and checked (<see cref="TorchRuntime.EnsureAvailable"/>, its CPU workaround printed),
/// the thread count, the CPU line, and Ctrl+C turned into <see cref="Cancellation"/>.
/// </summary>
/// <remarks>
/// Exit codes: 0 success, 1 a runtime failure (a corrupt file, libtorch missing), 2 a usage error
/// (<see cref="UsageException"/>; parse errors exit 2 in <see cref="SampleCommand"/>), 130 cancelled by Ctrl+C.
/// Set <c>DIFFUSION_SAMPLES_TRACE=1</c> to print the exception with its stack trace after the line.
/// </remarks>
public sealed class SampleRun : IDisposable
{
    /// <summary>Exit code of a runtime failure.</summary>
    public const int FailureExitCode = 1;

    /// <summary>Exit code after Ctrl+C stopped work that cannot save and return (128 + SIGINT, as shells report it).</summary>
    public const int CancelledExitCode = 130;

    private readonly CancellationTokenSource cancel = new();
    private readonly string stopMessage;

    private SampleRun(CpuInfo cpu, string stopMessage)
    {
        Cpu = cpu;
        this.stopMessage = stopMessage;
        Console.CancelKeyPress += OnCancelKeyPress;
    }

    /// <summary>Cancelled by the first Ctrl+C (a second one ends the process at once).</summary>
    public CancellationToken Cancellation => cancel.Token;

    /// <summary>The CPU the sample runs on.</summary>
    public CpuInfo Cpu { get; }

    /// <summary>Runs the shared start-up; call it first, before any tensor exists.</summary>
    /// <param name="threads">libtorch CPU threads (<c>--threads</c>).</param>
    /// <param name="stopMessage">What the first Ctrl+C prints.</param>
    /// <returns>The run; dispose it at the end of the program.</returns>
    public static SampleRun Start(int threads, string stopMessage = "Stopping at the next safe point; Ctrl+C again quits at once...")
    {
        AppDomain.CurrentDomain.UnhandledException += ReportAndExit;
        GlibcAllocator.KeepFreedMemory(); // before the first tensor: about 1.75x faster CPU steps for ~1 GB more memory (docs/performance.md)
        TorchRuntime.EnsureAvailable();
        if (TorchRuntime.CpuWorkaround is { } workaround)
        {
            Console.WriteLine($"Note: {workaround}");
        }

        torch.set_num_threads(threads);
        CpuInfo cpu = CpuInfo.Current;
        Console.WriteLine(CpuLine(cpu, torch.get_num_threads()));
        return new SampleRun(cpu, stopMessage);
    }

    /// <summary>The line every sample prints first: the CPU, its vector features and cores, and libtorch's threads.</summary>
    /// <param name="cpu">The CPU.</param>
    /// <param name="torchThreads">libtorch's CPU threads.</param>
    /// <returns>For example <c>CPU: AMD EPYC 7B13 (AVX2), 2 logical processors; 2 torch threads</c>.</returns>
    public static string CpuLine(CpuInfo cpu, int torchThreads)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        string forced = Environment.GetEnvironmentVariable("ATEN_CPU_CAPABILITY") is { Length: > 0 } capability
            ? $" (ATEN_CPU_CAPABILITY={capability} limits libtorch's kernels)"
            : string.Empty;
        return $"CPU: {cpu}; {torchThreads} torch thread{(torchThreads == 1 ? string.Empty : "s")}{forced}.";
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        cancel.Dispose();
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (cancel.IsCancellationRequested)
        {
            return; // the second Ctrl+C ends the process at once
        }

        e.Cancel = true;
        cancel.Cancel();
        Console.WriteLine();
        Console.WriteLine(stopMessage);
    }

    // The runtime raises this before it prints its own report of an unhandled exception; exiting here replaces
    // that report (a stack trace) with one line.
    private static void ReportAndExit(object sender, UnhandledExceptionEventArgs e)
    {
        Exception error = Unwrap((Exception)e.ExceptionObject);
        Console.Out.Flush();
        Console.Error.WriteLine(error is OperationCanceledException ? "Cancelled." : $"error: {Describe(error)}");
        if (Environment.GetEnvironmentVariable("DIFFUSION_SAMPLES_TRACE") == "1")
        {
            Console.Error.WriteLine(error);
        }

        Environment.Exit(error switch
        {
            UsageException => SampleCommand.UsageExitCode,
            OperationCanceledException => CancelledExitCode,
            _ => FailureExitCode,
        });
    }

    private static Exception Unwrap(Exception error) => error switch
    {
        AggregateException { InnerExceptions.Count: 1 } a => Unwrap(a.InnerExceptions[0]),
        TargetInvocationException { InnerException: { } inner } => Unwrap(inner),
        _ => error,
    };

    private static string Describe(Exception error)
    {
        // Expected failures carry messages written for users; anything else also names its type.
        bool expected = error is UsageException or TorchRuntimeException or IOException or UnauthorizedAccessException
            or ArgumentException or InvalidOperationException or NotSupportedException;
        string message = FirstLine(error.Message);
        return expected ? message : $"{error.GetType().Name}: {message}";
    }

    private static string FirstLine(string message)
    {
        // libtorch's messages continue with a C++ backtrace after the first line.
        int newline = message.IndexOfAny(['\r', '\n']);
        return (newline < 0 ? message : message[..newline]).Trim();
    }
}
