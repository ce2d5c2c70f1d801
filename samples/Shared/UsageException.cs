namespace Diffusion.Samples;

/// <summary>
/// A command line that parsed but cannot run here (for example <c>--device cuda</c> on a machine without CUDA):
/// reported in one line like a parse error, with exit code <see cref="SampleCommand.UsageExitCode"/>.
/// </summary>
public sealed class UsageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UsageException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line naming the option, the expected and the actual value.</param>
    public UsageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line naming the option, the expected and the actual value.</param>
    /// <param name="innerException">The cause.</param>
    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
