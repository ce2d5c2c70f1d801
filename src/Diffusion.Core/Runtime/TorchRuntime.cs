using System.Runtime.InteropServices;

namespace Diffusion.Runtime;

/// <summary>
/// Checks that libtorch's native libraries load, and explains what to do when they do not.
/// </summary>
/// <remarks>
/// TorchSharp reports every native load failure as a <see cref="TypeInitializationException"/> whose
/// message claims the libtorch package is missing, even when the real cause is an older system
/// libstdc++ (Debian 12). The library's entry points call <see cref="EnsureAvailable"/> so users get
/// a <see cref="TorchRuntimeException"/> that names the cause and the fix instead.
/// </remarks>
public static class TorchRuntime
{
    private static readonly Lazy<Exception?> LoadFailure = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The libstdc++ symbol version that TorchSharp 0.107's native library asks for.</summary>
    public const string RequiredGlibcxxVersion = "GLIBCXX_3.4.32";

    /// <summary>
    /// What the first <see cref="EnsureAvailable"/> changed to keep CPU results correct on this machine, in one
    /// sentence; <see langword="null"/> when nothing was needed (or libtorch has not been loaded yet).
    /// </summary>
    /// <remarks>
    /// On loading, a known-answer convolution checks libtorch's oneDNN kernels; where they compute wrong results
    /// (seen on an AMD EPYC virtual machine) oneDNN is turned off for the process. Samples print this line.
    /// Set the environment variable <c>DIFFUSION_ONEDNN_CHECK=0</c> to skip the check.
    /// </remarks>
    public static string? CpuWorkaround { get; private set; }

    /// <summary>
    /// Loads libtorch once and checks that its CPU convolutions compute correct results (see
    /// <see cref="CpuWorkaround"/>), or throws a <see cref="TorchRuntimeException"/> that says why it cannot.
    /// </summary>
    /// <exception cref="TorchRuntimeException">libtorch's native libraries could not be loaded, or its CPU
    /// convolutions are wrong on this machine and could not be mended.</exception>
    public static void EnsureAvailable()
    {
        switch (LoadFailure.Value)
        {
            case null:
                return;
            case TorchRuntimeException explained:
                throw explained;
            case { } failure:
                throw new TorchRuntimeException(Explain(failure), failure);
        }
    }

    private static Exception? TryLoad()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException)
        {
            return e;
        }

        try
        {
            CpuWorkaround = OneDnnConvolutionCheck.Run();
            return null;
        }
        catch (TorchRuntimeException e)
        {
            return e;
        }
    }

    internal static string Explain(Exception failure)
    {
        string? systemLib = FindSystemLibStdCxx();
        bool oldLibStdCxx = OperatingSystem.IsLinux() && systemLib is not null && !FileContainsAscii(systemLib, RequiredGlibcxxVersion);
        if (oldLibStdCxx)
        {
            return $"libtorch could not be loaded: TorchSharp's native library needs the symbol version {RequiredGlibcxxVersion}, " +
                   $"which the system libstdc++ ({systemLib}) does not provide (Debian 12 stops at GLIBCXX_3.4.30). " +
                   "Fix: build through the Diffusion.Net package (or this repository), whose build marks that unused need weak " +
                   "in the output folder's copy of libLibTorchSharp.so, and check that the build printed 'Diffusion.Net: ... marked ... weak'; " +
                   "or install a newer libstdc++ (GCC 13 or later). See docs/debian12.md.";
        }

        return "libtorch could not be loaded. Reference a libtorch runtime package (the Diffusion.Net package brings TorchSharp-cpu; " +
               $"GPU users add TorchSharp-cuda-linux) and check the inner exception for the loader's trace. Cause: {FirstLine(failure)}";
    }

    private static string FirstLine(Exception e)
    {
        Exception inner = e is TypeInitializationException { InnerException: { } i } ? i : e;
        string message = inner.Message;
        int newline = message.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? message : message[..newline].TrimEnd();
    }

    private static string? FindSystemLibStdCxx()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        string arch = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "aarch64" : "x86_64";
        string[] candidates =
        [
            $"/usr/lib/{arch}-linux-gnu/libstdc++.so.6", $"/lib/{arch}-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        ];
        return candidates.FirstOrDefault(File.Exists);
    }

    private static bool FileContainsAscii(string path, string text)
    {
        byte[] needle = [.. System.Text.Encoding.ASCII.GetBytes(text), 0];
        return File.ReadAllBytes(path).AsSpan().IndexOf(needle) >= 0;
    }
}
