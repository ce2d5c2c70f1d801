namespace Diffusion.Tests.Packaging;

/// <summary>What a child process did.</summary>
/// <param name="Command">The command line, for messages.</param>
/// <param name="ExitCode">Its exit code, or null when it was killed at the time limit.</param>
/// <param name="Output">Stdout and stderr.</param>
/// <param name="Elapsed">Wall time.</param>
/// <param name="Timeout">The limit it ran under.</param>
internal sealed record CliResult(string Command, int? ExitCode, string Output, TimeSpan Elapsed, TimeSpan Timeout)
{
    /// <summary>Fails the test, with the command and its output, unless the command exited with 0.</summary>
    /// <returns>This result.</returns>
    public CliResult AssertSucceeded()
    {
        if (ExitCode is null)
        {
            Assert.Fail($"`{Command}` did not finish within {Timeout.TotalSeconds:F0} s and was stopped. Its output:\n{Output}");
        }

        if (ExitCode != 0)
        {
            Assert.Fail($"`{Command}` failed with exit code {ExitCode} after {Elapsed.TotalSeconds:F0} s. Its output:\n{Output}");
        }

        return this;
    }
}
