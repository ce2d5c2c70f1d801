using System.Diagnostics;

namespace Diffusion.Tests.Packaging;

/// <summary>
/// The four packages, packed once per test run from a copy of the sources into a local folder feed,
/// with a version suffix of their own (so a package from another run is never used), and removed from
/// the global packages folder again afterwards.
/// </summary>
/// <remarks>
/// The pack runs on a copy of <c>src/</c> and the root build files in a temporary folder, so it neither
/// rewrites this checkout's <c>obj/</c> files nor races the build that is running the tests.
/// </remarks>
public sealed class PackedFeed : IDisposable
{
    /// <summary>The package ids, in dependency order.</summary>
    public static readonly string[] PackageIds = ["Diffusion.Core", "Diffusion.Training", "Diffusion.Clip", "Diffusion.Net"];

    private const string RegistryIndex = "https://api.nuget.org/v3/index.json";
    private const string SuffixPrefix = "packtest.";
    private readonly Lazy<string?> skipReason;
    private readonly TempDirectory root = new();

    /// <summary>Creates the fixture; nothing runs until a test asks for the feed.</summary>
    public PackedFeed()
    {
        skipReason = new Lazy<string?>(Prepare, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The temporary folder that holds the copy, the feed and the consumer projects (outside the repository).</summary>
    public string Root => root.Path;

    /// <summary>The local folder feed with the .nupkg and .snupkg files.</summary>
    public string FeedDirectory => Path.Combine(Root, "feed");

    /// <summary>The packages' version: Directory.Build.props' VersionPrefix plus this run's suffix.</summary>
    public string Version { get; private set; } = "";

    /// <summary>How long the pack took.</summary>
    public TimeSpan PackTime { get; private set; }

    /// <summary>Why the package tests cannot run here (the registry is unreachable), or null; packs on first use.</summary>
    public string? SkipReason => skipReason.Value;

    /// <summary>The path of a package file in the feed.</summary>
    /// <param name="id">A package id.</param>
    /// <param name="extension">"nupkg" or "snupkg".</param>
    /// <returns>The path.</returns>
    public string PackagePath(string id, string extension = "nupkg") => Path.Combine(FeedDirectory, $"{id}.{Version}.{extension}");

    /// <summary>Writes a NuGet.config that lists the local feed first, then nuget.org, and nothing else.</summary>
    /// <param name="directory">The consumer project's folder.</param>
    public void WriteNuGetConfig(string directory) => File.WriteAllText(Path.Combine(directory, "NuGet.config"), $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <clear />
            <add key="local" value="{FeedDirectory}" />
            <add key="nuget.org" value="{RegistryIndex}" />
          </packageSources>
        </configuration>
        """);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Version.Length > 0)
        {
            foreach (string id in PackageIds)
            {
                string folder = Path.Combine(GlobalPackagesFolder, id.ToLowerInvariant());
                TryDelete(Path.Combine(folder, Version));
                if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any())
                {
                    TryDelete(folder);
                }
            }
        }

        root.Dispose();
    }

    /// <summary>The NuGet global packages folder (NUGET_PACKAGES, or ~/.nuget/packages).</summary>
    internal static string GlobalPackagesFolder =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private string? Prepare()
    {
        if (!RegistryReachable(out string why))
        {
            return $"the package tests restore from nuget.org, which is unreachable here ({why})";
        }

        RemoveStaleTestPackages();
        string sources = Path.Combine(Root, "pack");
        CopySources(TestEnvironment.RepoRoot, sources);
        File.WriteAllText(Path.Combine(sources, "packages.slnx"), $"""
            <Solution>
            {string.Concat(PackageIds.Select(id => $"  <Project Path=\"src/{id}/{id}.csproj\" />\n"))}</Solution>
            """);

        // Letters first: a numeric SemVer identifier may not start with 0.
        string suffix = SuffixPrefix + "r" + Guid.NewGuid().ToString("N")[..10];
        var clock = Stopwatch.StartNew();
        DotNetCli.Run(sources, TimeSpan.FromMinutes(5),
            "pack", "packages.slnx", "-c", "Release", "-o", FeedDirectory, $"-p:VersionSuffix={suffix}").AssertSucceeded();
        PackTime = clock.Elapsed;

        string net = Directory.GetFiles(FeedDirectory, "Diffusion.Net.*.nupkg").Single();
        Version = Path.GetFileNameWithoutExtension(net)["Diffusion.Net.".Length..];
        Assert.EndsWith("-" + suffix, Version, StringComparison.Ordinal);
        return null;
    }

    private static bool RegistryReachable(out string why)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            using HttpResponseMessage response = http.Send(new HttpRequestMessage(HttpMethod.Get, RegistryIndex));
            why = $"GET {RegistryIndex} answered {(int)response.StatusCode}";
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            why = $"GET {RegistryIndex}: {e.Message}";
            return false;
        }
    }

    // Copies what `dotnet pack` of the four projects reads: src/ without build outputs, and the root
    // build files (props, targets, central versions, NuGet.config, .editorconfig for the analyzers).
    private static void CopySources(string repo, string target)
    {
        foreach (string file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "NuGet.config", ".editorconfig", "LICENSE", "global.json" })
        {
            string from = Path.Combine(repo, file);
            if (File.Exists(from))
            {
                Directory.CreateDirectory(target);
                File.Copy(from, Path.Combine(target, file));
            }
        }

        CopyTree(Path.Combine(repo, "build"), Path.Combine(target, "build"));
        foreach (string id in PackageIds)
        {
            CopyTree(Path.Combine(repo, "src", id), Path.Combine(target, "src", id));
        }
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (string dir in Directory.GetDirectories(from))
        {
            string name = Path.GetFileName(dir);
            if (name is not ("bin" or "obj"))
            {
                CopyTree(dir, Path.Combine(to, name));
            }
        }
    }

    // A run that was killed leaves its packages in the global folder: remove those older than a day
    // (a younger one may belong to a run going on beside this one).
    private static void RemoveStaleTestPackages()
    {
        foreach (string id in PackageIds)
        {
            string dir = Path.Combine(GlobalPackagesFolder, id.ToLowerInvariant());
            if (!Directory.Exists(dir))
            {
                continue;
            }

            foreach (string version in Directory.GetDirectories(dir))
            {
                if (Path.GetFileName(version).Contains("-" + SuffixPrefix, StringComparison.Ordinal)
                    && Directory.GetLastWriteTimeUtc(version) < DateTime.UtcNow.AddDays(-1))
                {
                    TryDelete(version);
                }
            }
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // Someone else is using it: it will be removed by a later run (older than a day).
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
