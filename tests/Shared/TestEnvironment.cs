using System.Reflection;
using System.Runtime.CompilerServices;
using TorchSharp;

namespace Diffusion.Tests;

/// <summary>Set-up shared by every test assembly: one torch thread, and where the repository's files are.</summary>
internal static class TestEnvironment
{
    [ModuleInitializer]
    internal static void Initialize()
    {
        // One intra-op thread: CI has 2 cores, and test classes run in parallel. DIFFUSION_TEST_THREADS=2 runs the
        // suite with two (tools/ci/cpu-matrix.sh does, to show the tolerances hold for another reduction order).
        torch.set_num_threads(int.TryParse(Environment.GetEnvironmentVariable("DIFFUSION_TEST_THREADS"), out int threads) && threads > 0 ? threads : 1);
        torch.set_num_interop_threads(1);
    }

    /// <summary>The repository's root folder (where Diffusion.Net.sln is), as the build saw it.</summary>
    public static string RepoRoot { get; } =
        typeof(TestEnvironment).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .First(a => a.Key == "DiffusionRepoRoot").Value!;

    /// <summary>Reference files committed with the tests (<c>tests/reference</c>).</summary>
    public static string ReferenceDir => Path.Combine(RepoRoot, "tests", "reference");

    /// <summary>The design card's shared data folder (<c>../shared/data</c>), or null when this clone has none.</summary>
    public static string? SharedDataDir
    {
        get
        {
            string dir = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data"));
            return Directory.Exists(dir) ? dir : null;
        }
    }

    /// <summary>A fresh, empty temporary folder for one test; deleted by the caller's <c>using</c>.</summary>
    public static TempDirectory CreateTempDirectory() => new();
}

/// <summary>A temporary folder that deletes itself.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "diffusion-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open on some platform: leave it to the OS's temp cleaner.
        }
    }
}
