using System.Text.RegularExpressions;

namespace Diffusion.Tests.Docs;

/// <summary>
/// A compiled piece of documentation: the lines between <c>// &lt;snippet:name&gt;</c> and
/// <c>// &lt;/snippet&gt;</c> in a source file of <c>samples/DocsSnippets</c>.
/// </summary>
/// <param name="Name">The marker's name.</param>
/// <param name="File">The source file, relative to the repository root.</param>
/// <param name="Lines">The lines between the markers, as written.</param>
/// <param name="FileUsings">The file's using directives (a document's block may show them above the code).</param>
internal sealed partial record SnippetRegion(string Name, string File, IReadOnlyList<string> Lines, IReadOnlySet<string> FileUsings)
{
    /// <summary>The folder whose sources hold the snippets.</summary>
    public static string Folder => Path.Combine(TestEnvironment.RepoRoot, "samples", "DocsSnippets");

    /// <summary>The region's code as a file would hold it: the lines without their common indentation.</summary>
    public string Text
    {
        get
        {
            int indent = Lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
            return string.Join('\n', Lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart())) + "\n";
        }
    }

    /// <summary>Reads every region of every source file under <see cref="Folder"/>.</summary>
    /// <returns>The regions; a marker without its end, or a name used twice, fails the test.</returns>
    public static IReadOnlyList<SnippetRegion> ReadAll()
    {
        var regions = new List<SnippetRegion>();
        foreach (string path in SourceFiles(Folder))
        {
            string relative = Path.GetRelativePath(TestEnvironment.RepoRoot, path);
            string[] lines = System.IO.File.ReadAllLines(path);
            var usings = lines.Select(l => l.Trim()).Where(IsUsingDirective).ToHashSet(StringComparer.Ordinal);
            for (int i = 0; i < lines.Length; i++)
            {
                Match start = StartMarker().Match(lines[i]);
                if (!start.Success)
                {
                    continue;
                }

                int end = Array.FindIndex(lines, i + 1, l => EndMarker().IsMatch(l));
                Assert.True(end > i, $"{relative}:{i + 1}: snippet '{start.Groups[1].Value}' has no '// </snippet>' after it.");
                regions.Add(new SnippetRegion(start.Groups[1].Value, relative, lines[(i + 1)..end], usings));
                i = end;
            }
        }

        string[] twice = [.. regions.GroupBy(r => r.Name).Where(g => g.Count() > 1).Select(g => g.Key)];
        Assert.True(twice.Length == 0, $"snippet names must be unique; used twice: {string.Join(", ", twice)}");
        return regions;
    }

    /// <summary>The region called <paramref name="name"/>.</summary>
    /// <param name="name">A marker name.</param>
    /// <returns>The region.</returns>
    public static SnippetRegion Get(string name) =>
        ReadAll().SingleOrDefault(r => r.Name == name) ?? throw new Xunit.Sdk.XunitException($"samples/DocsSnippets has no snippet '{name}'.");

    /// <summary>True for a using directive (<c>using X.Y;</c>, <c>using static X;</c>, <c>using A = X;</c>), false for a using statement.</summary>
    /// <param name="trimmedLine">A line without surrounding white space.</param>
    /// <returns>Whether it is a directive.</returns>
    public static bool IsUsingDirective(string trimmedLine) => UsingDirective().IsMatch(trimmedLine);

    /// <summary>The C# files of a folder tree, without build outputs.</summary>
    /// <param name="folder">The folder.</param>
    /// <returns>Full paths.</returns>
    public static IEnumerable<string> SourceFiles(string folder) =>
        Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(p => !p.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Order(StringComparer.Ordinal);

    [GeneratedRegex(@"^\s*// <snippet:([A-Za-z0-9_.-]+)>\s*$")]
    private static partial Regex StartMarker();

    [GeneratedRegex(@"^\s*// </snippet>\s*$")]
    private static partial Regex EndMarker();

    [GeneratedRegex(@"^using (static )?([A-Za-z_][A-Za-z0-9_]* = )?[A-Za-z_][A-Za-z0-9_.]*;$")]
    private static partial Regex UsingDirective();
}
