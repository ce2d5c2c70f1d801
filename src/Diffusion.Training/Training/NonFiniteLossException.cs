namespace Diffusion.Training;

/// <summary>Training produced a NaN or infinite loss and <see cref="NonFiniteLossPolicy.Stop"/> was in force.</summary>
public sealed class NonFiniteLossException : Exception
{
    /// <summary>Creates the exception with no message.</summary>
    public NonFiniteLossException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened.</param>
    public NonFiniteLossException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The cause.</param>
    public NonFiniteLossException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The optimizer step (0-based) whose loss was not finite.</summary>
    public long Step { get; init; }

    /// <summary>The loss value (NaN or ±∞).</summary>
    public double Loss { get; init; }
}
