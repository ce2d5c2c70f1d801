namespace Diffusion.Internal;

/// <summary>The one way a factory hands over something it built only once it is complete.</summary>
internal static class Disposal
{
    /// <summary>Runs <paramref name="finish"/> on <paramref name="value"/> (loading weights, moving it to a device, ...)
    /// and returns it; when <paramref name="finish"/> throws, disposes <paramref name="value"/> first, so a failed
    /// factory leaks nothing.</summary>
    /// <typeparam name="T">What is built.</typeparam>
    /// <param name="value">The new object; the caller owns it once this returns.</param>
    /// <param name="finish">The remaining steps.</param>
    /// <returns><paramref name="value"/>.</returns>
    public static T DisposeOnFailure<T>(T value, Action<T> finish)
        where T : IDisposable
    {
        try
        {
            finish(value);
            return value;
        }
        catch
        {
            value.Dispose();
            throw;
        }
    }
}
