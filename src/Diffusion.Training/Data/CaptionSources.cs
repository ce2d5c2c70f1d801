using System.Text;

namespace Diffusion.Data;

/// <summary>Reads the caption table of an image folder (<c>relative/path&lt;TAB&gt;caption</c> per line).</summary>
internal static class CaptionSources
{
    /// <summary>
    /// Parses <paramref name="file"/>: UTF-8, one <c>path&lt;TAB&gt;caption</c> per line, the path relative
    /// to the folder with '/' or '\' separators; blank lines and lines starting with '#' are skipped.
    /// </summary>
    /// <returns>Captions by normalised relative path ('/' separators).</returns>
    /// <exception cref="InvalidDataException">A line has no tab, an empty path, or a path listed twice.</exception>
    public static Dictionary<string, string> ReadTable(string file)
    {
        var captions = new Dictionary<string, string>(StringComparer.Ordinal);
        int lineNumber = 0;
        foreach (string line in File.ReadLines(file, Encoding.UTF8))
        {
            lineNumber++;
            if (line.Length == 0 || line[0] == '#' || string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            int tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab < 0)
            {
                throw new InvalidDataException($"Caption table '{file}' line {lineNumber} has no tab; expected 'relative/path<TAB>caption'.");
            }

            string path = NormalisePath(line[..tab].Trim());
            if (path.Length == 0)
            {
                throw new InvalidDataException($"Caption table '{file}' line {lineNumber} has an empty path.");
            }

            if (!captions.TryAdd(path, line[(tab + 1)..].Trim()))
            {
                throw new InvalidDataException($"Caption table '{file}' line {lineNumber} lists '{path}' a second time.");
            }
        }

        return captions;
    }

    /// <summary>Reads a <c>name.txt</c> sidecar: the whole file, trimmed.</summary>
    public static string ReadSidecar(string file) => File.ReadAllText(file, Encoding.UTF8).Trim();

    /// <summary>'/' separators, no leading "./".</summary>
    public static string NormalisePath(string relative)
    {
        string path = relative.Replace('\\', '/');
        while (path.StartsWith("./", StringComparison.Ordinal))
        {
            path = path[2..];
        }

        return path;
    }
}
