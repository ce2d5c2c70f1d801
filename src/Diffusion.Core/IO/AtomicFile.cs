namespace Diffusion.IO;

/// <summary>Writes a file through a temporary file in the same folder, renamed over the target once complete.</summary>
/// <remarks>
/// A crash or an exception mid-write leaves the previous file intact (and removes the temporary file where it can).
/// A failure of the file system (full disk, read-only or impossible folder, something in the way of the rename)
/// is an <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> that names the target file, says
/// the previous one is unchanged, and carries the system's error as its inner exception.
/// </remarks>
internal static class AtomicFile
{
    public static void Write(string path, Action<FileStream> write)
    {
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        string temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(directory);
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, fullPath, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            string message = $"{fullPath} could not be written: {e.Message} Any previous file of that name is unchanged.";
            throw e is UnauthorizedAccessException ? new UnauthorizedAccessException(message, e) : new IOException(message, e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, stream => stream.Write(copy));
    }

    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temporary file is hidden and harmless.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
