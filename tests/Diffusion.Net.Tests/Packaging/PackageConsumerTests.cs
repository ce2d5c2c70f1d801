using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Diffusion.Runtime;
using Diffusion.Tests.Docs;
using SkiaSharp;
using Xunit.Abstractions;

namespace Diffusion.Tests.Packaging;

/// <summary>
/// A user's first experience, from the packed packages: a new console project outside the repository
/// adds Diffusion.Net from a local folder feed, then builds and runs the getting-started program
/// (<c>samples/DocsSnippets/Program.cs</c>, the README's complete example). And the GPU recipe at
/// restore level: the three libraries alone bring no libtorch.
/// </summary>
[Collection(PackagesCollection.Name)]
public sealed partial class PackageConsumerTests(PackedFeed feed, ITestOutputHelper log)
{
    private static readonly TimeSpan RestoreTimeout = TimeSpan.FromMinutes(10); // a first TorchSharp-cpu download is about 1 GB
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    [SkippableFact]
    public void FreshConsoleProjectAddsDiffusionNetBuildsAndRunsTheReadmeExample()
    {
        Skip.If(feed.SkipReason is not null, feed.SkipReason);
        string project = NewConsumerFolder("Consumer");
        File.WriteAllText(Path.Combine(project, "Consumer.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Program.cs"), SnippetRegion.Get("quickstart").Text);

        CliResult add = Step(DotNetCli.Run(project, RestoreTimeout, "add", "package", "Diffusion.Net", "--version", feed.Version));
        Assert.Contains($"Include=\"Diffusion.Net\" Version=\"{feed.Version}\"", File.ReadAllText(Path.Combine(project, "Consumer.csproj")), StringComparison.Ordinal);

        // Hard links instead of copies of the ~1.5 GB of native libraries (three OSes) keep the disk
        // free; the Debian fix replaces its file by renaming, so the cache's copy stays as it is (checked below).
        CliResult build = Step(DotNetCli.Run(project, BuildTimeout, "build", "-nodeReuse:false", "-p:CreateHardLinksForCopyLocalIfPossible=true"));
        if (SystemLibStdCxxLacksRequiredVersion())
        {
            // The Debian 12 fix came with the package and said so, once.
            Assert.True(Regex.Count(build.Output, "Diffusion.Net: the system libstdc\\+\\+ .* lacks GLIBCXX_3\\.4\\.32; marked .* weak") == 1,
                $"the consumer's build should print the Debian 12 fix's message once:\n{build.Output}");
        }

        string patched = Path.Combine(project, "bin", "Debug", "net10.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        string cached = Path.Combine(PackedFeed.GlobalPackagesFolder, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (File.Exists(patched) && File.Exists(cached))
        {
            Assert.Equal(SystemLibStdCxxLacksRequiredVersion(), !File.ReadAllBytes(patched).AsSpan().SequenceEqual(File.ReadAllBytes(cached)));
        }

        string program = Path.Combine(project, "bin", "Debug", "net10.0", "Consumer.dll");
        CliResult run = Step(DotNetCli.Run(project, RunTimeout, program));
        Assert.Matches(@"trained 20 steps, loss \d+\.\d{3}", run.Output);
        Match similarity = SimilarityLine().Match(run.Output);
        Assert.True(similarity.Success, $"the program should print 'similarity <value>':\n{run.Output}");
        float value = float.Parse(similarity.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(value, -1f, 1f);

        string grid = Path.Combine(project, "samples.png");
        Assert.True(File.Exists(grid), $"the program should write {grid}:\n{run.Output}");
        using (SKBitmap bitmap = SKBitmap.Decode(grid) ?? throw new Xunit.Sdk.XunitException($"{grid} is not a readable PNG"))
        {
            // 2 × 2 images of 16 px with 2 px of padding around and between them.
            Assert.Equal((2 * 16) + (3 * 2), bitmap.Width);
            Assert.Equal((2 * 16) + (3 * 2), bitmap.Height);
        }

        log.WriteLine($"pack {feed.PackTime.TotalSeconds:F0} s (shared), add package {add.Elapsed.TotalSeconds:F0} s, build {build.Elapsed.TotalSeconds:F0} s, run {run.Elapsed.TotalSeconds:F0} s");
        TryDeleteBuildOutput(project); // about 1.5 GB of libtorch for three platforms
    }

    [SkippableFact]
    public void GpuRecipeLibrariesAloneRestoreWithoutAnyLibTorch()
    {
        Skip.If(feed.SkipReason is not null, feed.SkipReason);
        string project = NewConsumerFolder("GpuConsumer");
        // docs/gpu.md's recipe without its TorchSharp-cuda-linux line (not on the registry these machines reach).
        File.WriteAllText(Path.Combine(project, "GpuConsumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Diffusion.Core" Version="{feed.Version}" />
                <PackageReference Include="Diffusion.Training" Version="{feed.Version}" />
                <PackageReference Include="Diffusion.Clip" Version="{feed.Version}" />
              </ItemGroup>
            </Project>
            """);
        Step(DotNetCli.Run(project, RestoreTimeout, "restore"));

        using JsonDocument assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(project, "obj", "project.assets.json")));
        string[] libraries = [.. assets.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name)];
        Assert.Contains(libraries, l => l.StartsWith("TorchSharp/", StringComparison.Ordinal));
        string[] natives = [.. libraries.Where(l => l.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase)
                                                     || l.StartsWith("TorchSharp-", StringComparison.OrdinalIgnoreCase))];
        Assert.True(natives.Length == 0, $"the three libraries must leave the libtorch choice to the user; the restore brought {string.Join(", ", natives)}");

        // The Debian 12 fix still applies: Diffusion.Core carries it.
        string imports = File.ReadAllText(Path.Combine(project, "obj", "GpuConsumer.csproj.nuget.g.targets"));
        Assert.Contains($"diffusion.core/{feed.Version}/buildTransitive/Diffusion.Core.targets", imports, StringComparison.Ordinal);
    }

    private string NewConsumerFolder(string name)
    {
        string folder = Path.Combine(feed.Root, name);
        Assert.False(Path.GetFullPath(folder).StartsWith(Path.GetFullPath(TestEnvironment.RepoRoot), StringComparison.Ordinal),
            "the consumer project must live outside the repository, so that none of its build files apply");
        Directory.CreateDirectory(folder);
        feed.WriteNuGetConfig(folder);
        return folder;
    }

    private CliResult Step(CliResult result)
    {
        log.WriteLine($"{result.Command}: {result.Elapsed.TotalSeconds:F1} s, exit {result.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none (stopped)"}");
        return result.AssertSucceeded();
    }

    private static bool SystemLibStdCxxLacksRequiredVersion()
    {
        const string systemLib = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        if (!OperatingSystem.IsLinux() || !File.Exists(systemLib))
        {
            return false;
        }

        byte[] needle = [.. Encoding.ASCII.GetBytes(TorchRuntime.RequiredGlibcxxVersion), 0];
        return File.ReadAllBytes(systemLib).AsSpan().IndexOf(needle) < 0;
    }

    private static void TryDeleteBuildOutput(string project)
    {
        try
        {
            Directory.Delete(Path.Combine(project, "bin"), recursive: true);
        }
        catch (IOException)
        {
            // The fixture deletes the whole folder at the end anyway.
        }
    }

    [GeneratedRegex(@"similarity (-?\d+\.\d+)")]
    private static partial Regex SimilarityLine();
}
