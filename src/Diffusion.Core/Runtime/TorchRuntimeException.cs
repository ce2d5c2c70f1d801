namespace Diffusion.Runtime;

/// <summary>libtorch's native libraries could not be loaded; the message says why and how to fix it.</summary>
public sealed class TorchRuntimeException : Exception
{
    /// <summary>Creates the exception with no message.</summary>
    public TorchRuntimeException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and how to fix it.</param>
    public TorchRuntimeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the loader's own exception.</summary>
    /// <param name="message">What went wrong and how to fix it.</param>
    /// <param name="innerException">TorchSharp's exception, with the loader's trace.</param>
    public TorchRuntimeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
