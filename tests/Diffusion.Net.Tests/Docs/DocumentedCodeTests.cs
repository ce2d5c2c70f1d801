using System.Text.RegularExpressions;

namespace Diffusion.Tests.Docs;

/// <summary>
/// Every C# block of the documentation is code that compiles: it appears, line for line (leading
/// indentation and blank lines aside), in a snippet region of <c>samples/DocsSnippets</c> or in a
/// source file under <c>samples/</c> or <c>tests/</c>. Both are built by <c>dotnet test Diffusion.Net.sln</c>.
/// </summary>
public sealed partial class DocumentedCodeTests
{
    private static readonly string[] CSharpFences = ["csharp", "cs", "c#"];

    public static TheoryData<string> Documents()
    {
        var data = new TheoryData<string>();
        foreach (string document in DocumentPaths())
        {
            data.Add(document);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void EveryCSharpBlockIsCompiledCode(string document)
    {
        IReadOnlyList<SnippetRegion> regions = SnippetRegion.ReadAll();
        var otherSources = SourceFilesOutsideSnippets().Select(p => Normalise(File.ReadAllLines(p))).ToList();
        var failures = new List<string>();
        foreach (Block block in Blocks(document).Where(b => CSharpFences.Contains(b.Language, StringComparer.OrdinalIgnoreCase)))
        {
            (List<string> usings, List<string> code) = SplitLeadingUsings(Normalise(block.Lines));
            bool found = regions.Any(r => Contains(Normalise(r.Lines), code) && usings.All(r.FileUsings.Contains))
                || otherSources.Any(lines => Contains(lines, [.. usings, .. code]));
            if (!found)
            {
                failures.Add($"{document}:{block.Line}: the C# block starting '{code.FirstOrDefault() ?? ""}' is in no snippet region of samples/DocsSnippets " +
                             "(between '// <snippet:name>' and '// </snippet>'; any using directives above it among that file's) nor in a samples/ or tests/ source file. " +
                             "Put the code there so that it compiles, or fence text that is not C# with another language.");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void EveryCodeFenceNamesItsLanguage(string document)
    {
        int[] bare = [.. Blocks(document).Where(b => b.Language.Length == 0).Select(b => b.Line)];
        Assert.True(bare.Length == 0,
            $"{document}: the code blocks at lines {string.Join(", ", bare)} have no language; use ```csharp for C# (then it must compile, see samples/DocsSnippets) and ```text, ```bash, … otherwise.");
    }

    [Fact]
    public void EverySnippetIsShownSomewhere()
    {
        var shown = DocumentPaths().SelectMany(Blocks).Where(b => CSharpFences.Contains(b.Language, StringComparer.OrdinalIgnoreCase))
            .Select(b => SplitLeadingUsings(Normalise(b.Lines)).Code).ToList();
        string[] unused = [.. SnippetRegion.ReadAll().Where(r => !shown.Any(code => Contains(Normalise(r.Lines), code))).Select(r => $"{r.Name} ({r.File})")];
        Assert.True(unused.Length == 0, $"these snippets appear in no document; delete them or show them: {string.Join(", ", unused)}");
    }

    [Fact]
    public void ReadmeKeepsTheFreshMachineCommands()
    {
        // .ci/run runs the README's test command; the first is the main job.
        string readme = File.ReadAllText(Path.Combine(TestEnvironment.RepoRoot, "README.md"));
        Assert.Contains("dotnet run -c Release --project samples/Flowers", readme, StringComparison.Ordinal);
        Assert.Contains("dotnet test Diffusion.Net.sln", readme, StringComparison.Ordinal);
    }

    [Fact]
    public void RelativeLinksInTheDocumentsPointAtFilesThatExist()
    {
        var failures = new List<string>();
        foreach (string document in DocumentPaths())
        {
            string path = Path.Combine(TestEnvironment.RepoRoot, document);
            string text = File.ReadAllText(path);
            foreach (Match link in MarkdownLink().Matches(text))
            {
                string target = link.Groups[1].Value;
                if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith('#') || target.StartsWith("mailto:", StringComparison.Ordinal))
                {
                    continue;
                }

                string file = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, target.Split('#')[0]));
                if (!File.Exists(file) && !Directory.Exists(file))
                {
                    failures.Add($"{document}: link to '{target}', which does not exist");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    // README.md, docs/**/*.md and the package readmes (src/*/README.md), relative to the repository root.
    private static IEnumerable<string> DocumentPaths()
    {
        string root = TestEnvironment.RepoRoot;
        IEnumerable<string> files = new[] { Path.Combine(root, "README.md"), Path.Combine(root, "CHANGELOG.md") }.Where(File.Exists)
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories))
            .Concat(Directory.EnumerateDirectories(Path.Combine(root, "src")).Select(d => Path.Combine(d, "README.md")).Where(File.Exists));
        return files.Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).Order(StringComparer.Ordinal);
    }

    private static IEnumerable<string> SourceFilesOutsideSnippets() =>
        new[] { "samples", "tests" }.Select(d => Path.Combine(TestEnvironment.RepoRoot, d)).Where(Directory.Exists)
            .SelectMany(SnippetRegion.SourceFiles)
            .Where(p => !p.StartsWith(SnippetRegion.Folder + Path.DirectorySeparatorChar, StringComparison.Ordinal));

    private static IEnumerable<Block> Blocks(string document)
    {
        string[] lines = File.ReadAllLines(Path.Combine(TestEnvironment.RepoRoot, document));
        for (int i = 0; i < lines.Length; i++)
        {
            Match open = FenceOpen().Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }

            string fence = open.Groups[1].Value;
            int close = Array.FindIndex(lines, i + 1, l => l.TrimStart().StartsWith(fence, StringComparison.Ordinal) && l.Trim().TrimStart(fence[0]).Length == 0);
            Assert.True(close > i, $"{document}:{i + 1}: code fence is never closed");
            yield return new Block(open.Groups[2].Value.Trim(), i + 1, lines[(i + 1)..close]);
            i = close;
        }
    }

    // Lines without leading/trailing white space; blank lines dropped.
    private static List<string> Normalise(IEnumerable<string> lines) => [.. lines.Select(l => l.Trim()).Where(l => l.Length > 0)];

    private static (List<string> Usings, List<string> Code) SplitLeadingUsings(List<string> lines)
    {
        int n = lines.TakeWhile(SnippetRegion.IsUsingDirective).Count();
        return (lines[..n], lines[n..]);
    }

    private static bool Contains(List<string> haystack, List<string> needle)
    {
        if (needle.Count == 0)
        {
            return true;
        }

        for (int start = 0; start + needle.Count <= haystack.Count; start++)
        {
            int k = 0;
            while (k < needle.Count && haystack[start + k] == needle[k])
            {
                k++;
            }

            if (k == needle.Count)
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex(@"^\s*(```+|~~~+)\s*([^`\s]*)\s*$")]
    private static partial Regex FenceOpen();

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    private sealed record Block(string Language, int Line, string[] Lines);
}
