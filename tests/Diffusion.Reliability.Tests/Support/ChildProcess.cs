using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Diffusion.Tests.Support;

/// <summary>This test assembly run as a child process (see Program.Main), with its output lines queued.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process process;
    private readonly BlockingCollection<string> lines = [];
    private readonly StringBuilder errors = new();

    private ChildProcess(Process process) => this.process = process;

    public bool HasExited => process.HasExited;

    public string StandardError
    {
        get
        {
            lock (errors)
            {
                return errors.ToString();
            }
        }
    }

    public static ChildProcess Start(params string[] arguments)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                child.lines.CompleteAdding();
            }
            else
            {
                child.lines.Add(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (child.errors)
            {
                child.errors.AppendLine(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The next line the child writes, or null when its output ended.</summary>
    public string? ReadLine(TimeSpan timeout)
    {
        try
        {
            if (lines.TryTake(out string? line, timeout))
            {
                return line;
            }
        }
        catch (InvalidOperationException)
        {
            return null; // completed
        }

        if (lines.IsCompleted)
        {
            return null;
        }

        throw new TimeoutException($"the child process wrote nothing for {timeout.TotalSeconds} s; stderr: {StandardError}");
    }

    /// <summary>SIGKILL on Linux: no finally blocks, no flushing, no clean-up in the child.</summary>
    public void Kill()
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    public int WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            Kill();
            throw new TimeoutException($"the child process did not end within {timeout.TotalSeconds} s; stderr: {StandardError}");
        }

        process.WaitForExit(); // drains the output
        return process.ExitCode;
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            Kill();
        }

        process.Dispose();
        lines.Dispose();
    }

    // The muxer that runs the tests (DOTNET_HOST_PATH is set by the dotnet CLI for the processes it starts).
    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        string? current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}
