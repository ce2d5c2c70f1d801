using System.Diagnostics;

namespace Diffusion.Tests;

/// <summary>Runs a built sample (its dll beside the tests) as its own process, as a user would.</summary>
internal static partial class SampleProcess
{
    public static (int ExitCode, string StdOut, string StdErr) Run(string dll, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["OMP_NUM_THREADS"] = "1";
        start.Environment.Remove("DIFFUSION_SAMPLES_TRACE");
        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, stdout.Result, "timed out\n" + stderr.Result);
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Standard output and error together, for logs in assertion messages.</summary>
    public static (int ExitCode, string Output) RunCombined(string dll, IEnumerable<string> args)
    {
        (int code, string stdout, string stderr) = Run(dll, args);
        return (code, stdout + stderr);
    }

    /// <summary>The lines of a sample's output, without libtorch's own log lines ("[W1203 21:15:45.72 NNPACK.cpp:56] Could
    /// not initialize NNPACK!"): libtorch writes those to standard error itself, whatever the sample does.</summary>
    public static string[] Lines(string text) =>
        [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !LibTorchLogLine().IsMatch(l))];

    [System.Text.RegularExpressions.GeneratedRegex(@"^\[[WIE]\d{4} \d\d:\d\d:\d\d\.\d+ \S+:\d+\] ")]
    private static partial System.Text.RegularExpressions.Regex LibTorchLogLine();
}
