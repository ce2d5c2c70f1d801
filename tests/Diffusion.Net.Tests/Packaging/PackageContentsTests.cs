using System.IO.Compression;
using System.Xml.Linq;

namespace Diffusion.Tests.Packaging;

/// <summary>What <c>dotnet pack</c> puts in the four packages: assemblies, XML docs, readmes, build files, metadata, dependencies.</summary>
[Collection(PackagesCollection.Name)]
public sealed class PackageContentsTests(PackedFeed feed)
{
    private static readonly string[] Libraries = ["Diffusion.Core", "Diffusion.Training", "Diffusion.Clip"];

    [SkippableFact]
    public void EveryPackageHoldsItsAssemblyXmlDocsReadmeAndSymbols()
    {
        Skip.If(feed.SkipReason is not null, feed.SkipReason);
        foreach (string id in PackedFeed.PackageIds)
        {
            IReadOnlySet<string> entries = Entries(feed.PackagePath(id));
            foreach (string expected in new[] { $"lib/net10.0/{id}.dll", $"lib/net10.0/{id}.xml", "README.md" })
            {
                Assert.True(entries.Contains(expected), $"{id}.nupkg lacks {expected}; it holds: {string.Join(", ", entries.Order())}");
            }

            string readme = ReadEntry(feed.PackagePath(id), "README.md");
            Assert.True(readme.Length > 300 && readme.StartsWith($"# {id}", StringComparison.Ordinal),
                $"{id}'s package readme should start with '# {id}' and say what the package holds; it is:\n{readme}");

            Assert.Contains($"lib/net10.0/{id}.pdb", Entries(feed.PackagePath(id, "snupkg")));
        }
    }

    [SkippableFact]
    public void MetadataComesFromOnePlace()
    {
        Skip.If(feed.SkipReason is not null, feed.SkipReason);
        string prefix = XDocument.Load(Path.Combine(TestEnvironment.RepoRoot, "Directory.Build.props"))
            .Descendants("VersionPrefix").Single().Value;
        Assert.StartsWith(prefix + "-", feed.Version, StringComparison.Ordinal);
        foreach (string id in PackedFeed.PackageIds)
        {
            XElement metadata = Nuspec(id).Descendants().Single(e => e.Name.LocalName == "metadata");
            string Value(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value
                ?? throw new Xunit.Sdk.XunitException($"{id}.nuspec has no <{name}>.");

            Assert.Equal(id, Value("id"));
            Assert.Equal(feed.Version, Value("version"));
            Assert.Equal("MIT", Value("license"));
            Assert.Equal("README.md", Value("readme"));
            Assert.Contains("torchsharp", Value("tags").Split(' '));
            Assert.Contains("diffusion", Value("tags").Split(' '));
            Assert.False(string.IsNullOrWhiteSpace(Value("description")), $"{id} has no description");
            Assert.StartsWith("https://github.com/", metadata.Elements().Single(e => e.Name.LocalName == "repository").Attribute("url")?.Value, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void DebianBuildFixShipsWithDiffusionNetAndWithCore()
    {
        Skip.If(feed.SkipReason is not null, feed.SkipReason);
        string original = File.ReadAllText(Path.Combine(TestEnvironment.RepoRoot, "build", "Diffusion.Net.targets"));
        Assert.Equal(original, ReadEntry(feed.PackagePath("Diffusion.Net"), "buildTransitive/Diffusion.Net.targets"));
        Assert.Equal(original, ReadEntry(feed.PackagePath("Diffusion.Core"), "buildTransitive/Diffusion.Core.targets"));
        Assert.DoesNotContain(Entries(feed.PackagePath("Diffusion.Training")), e => e.StartsWith("build", StringComparison.Ordinal));
        Assert.DoesNotContain(Entries(feed.PackagePath("Diffusion.Clip")), e => e.StartsWith("build", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void DiffusionNetBringsTheThreeLibrariesAndACpuRuntime()
    {
        Skip.If(feed.SkipReason is not null, feed.SkipReason);
        Dictionary<string, string> dependencies = Dependencies("Diffusion.Net");
        Assert.Equal(
            ["Diffusion.Clip", "Diffusion.Core", "Diffusion.Training", "SkiaSharp.NativeAssets.Linux.NoDependencies", "TorchSharp-cpu"],
            dependencies.Keys.Order(StringComparer.Ordinal));
        foreach (string library in Libraries)
        {
            Assert.Equal(feed.Version, dependencies[library]);
        }

        Assert.Equal(CentralVersion("TorchSharp-cpu"), dependencies["TorchSharp-cpu"]);
        Assert.Equal(CentralVersion("SkiaSharp.NativeAssets.Linux.NoDependencies"), dependencies["SkiaSharp.NativeAssets.Linux.NoDependencies"]);
    }

    [SkippableFact]
    public void LibrariesReferenceManagedTorchSharpOnly()
    {
        Skip.If(feed.SkipReason is not null, feed.SkipReason);
        foreach (string id in Libraries)
        {
            Dictionary<string, string> dependencies = Dependencies(id);
            Assert.True(dependencies.TryGetValue("TorchSharp", out string? torch), $"{id} should depend on TorchSharp; it depends on {string.Join(", ", dependencies.Keys)}");
            Assert.Equal(CentralVersion("TorchSharp"), torch);
            string[] natives = [.. dependencies.Keys.Where(d =>
                d.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase)
                || d.StartsWith("TorchSharp-", StringComparison.OrdinalIgnoreCase)
                || d.Contains(".NativeAssets.", StringComparison.OrdinalIgnoreCase))];
            Assert.True(natives.Length == 0, $"{id} must not bring native runtimes (GPU users pick their own); it depends on {string.Join(", ", natives)}");
            if (id != "Diffusion.Core")
            {
                Assert.Equal(feed.Version, dependencies["Diffusion.Core"]);
            }
        }
    }

    private static IReadOnlySet<string> Entries(string package)
    {
        using ZipArchive zip = ZipFile.OpenRead(package);
        return zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
    }

    private static string ReadEntry(string package, string entry)
    {
        using ZipArchive zip = ZipFile.OpenRead(package);
        ZipArchiveEntry found = zip.GetEntry(entry) ?? throw new Xunit.Sdk.XunitException($"{Path.GetFileName(package)} has no {entry}");
        using var reader = new StreamReader(found.Open());
        return reader.ReadToEnd();
    }

    private XDocument Nuspec(string id) => XDocument.Parse(ReadEntry(feed.PackagePath(id), id + ".nuspec"));

    // Package id → version of every dependency (one target framework, net10.0).
    private Dictionary<string, string> Dependencies(string id) =>
        Nuspec(id).Descendants().Where(e => e.Name.LocalName == "dependency")
            .ToDictionary(e => (string)e.Attribute("id")!, e => (string)e.Attribute("version")!, StringComparer.Ordinal);

    private static string CentralVersion(string package) =>
        XDocument.Load(Path.Combine(TestEnvironment.RepoRoot, "Directory.Packages.props"))
            .Descendants("PackageVersion").Single(e => (string?)e.Attribute("Include") == package).Attribute("Version")!.Value;
}
