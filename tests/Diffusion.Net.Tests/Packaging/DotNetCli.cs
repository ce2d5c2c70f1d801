using System.Diagnostics;
using System.Text;

namespace Diffusion.Tests.Packaging;

/// <summary>Runs the <c>dotnet</c> CLI (or a built program) as a child process with a time limit, capturing its output.</summary>
internal static class DotNetCli
{
    /// <summary>The <c>dotnet</c> host that runs these tests, so children use the same SDK.</summary>
    public static string HostPath { get; } = FindHost();

    /// <summary>Runs <c>dotnet</c> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>.</summary>
    /// <param name="workingDirectory">The child's current directory.</param>
    /// <param name="timeout">Killed (with its children) after this long.</param>
    /// <param name="arguments">Command-line arguments, each passed as one argument.</param>
    /// <returns>The exit code and everything it wrote to stdout and stderr, interleaved as received.</returns>
    public static CliResult Run(string workingDirectory, TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo(HostPath)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test host runs inside `dotnet test`, whose MSBuild variables would point a child build at
        // the outer build's SDK state; a fresh consumer must see a clean environment.
        foreach (string name in start.Environment.Keys.Where(IsInheritedBuildVariable).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // No MSBuild nodes or build server left behind holding this process's pipes open.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";

        var output = new StringBuilder();
        var stdoutClosed = new TaskCompletionSource();
        var stderrClosed = new TaskCompletionSource();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data, stdoutClosed);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data, stderrClosed);
        var clock = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        bool exited = process.WaitForExit(timeout);
        if (!exited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        // A compiler server started by the child may keep the pipes open after the child exits:
        // wait a little for the last lines, not for that server.
        Task.WhenAll(stdoutClosed.Task, stderrClosed.Task).Wait(TimeSpan.FromSeconds(5));
        string text;
        lock (output)
        {
            text = output.ToString();
        }

        return new CliResult(
            "dotnet " + string.Join(' ', arguments), exited ? process.ExitCode : null, text, clock.Elapsed, timeout);
    }

    private static void Append(StringBuilder output, string? line, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static bool IsInheritedBuildVariable(string name) =>
        name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("VSTEST_", StringComparison.OrdinalIgnoreCase)
        || name.Equals("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase);

    private static string FindHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        string? process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return process;
        }

        return "dotnet";
    }
}
