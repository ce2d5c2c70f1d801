namespace Diffusion.Training;

/// <summary>
/// Training produced a NaN or infinite loss or gradient norm while <see cref="NonFiniteLossPolicy.Stop"/> was in force,
/// or, under either policy, weights that are not finite when a checkpoint was due (that checkpoint is not written).
/// </summary>
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

    /// <summary>The optimizer step (0-based) whose loss or gradient was not finite, or the step count when the weights were found not finite.</summary>
    public long Step { get; init; }

    /// <summary>The loss value (NaN or ±∞ for a non-finite loss; the finite loss of a step whose gradient was not finite; NaN for non-finite weights).</summary>
    public double Loss { get; init; }
}
