using System.Text.Json;

namespace Diffusion.Internal;

/// <summary>
/// The one way the library reads a JSON file or text that must hold an object, and names the file in what goes wrong:
/// malformed input is an <see cref="InvalidDataException"/> whose message starts with the file's path (house rule 11).
/// </summary>
internal static class DataFile
{
    /// <summary>Parses <paramref name="json"/>, which must hold a JSON object.</summary>
    /// <param name="json">The text.</param>
    /// <param name="subject">What the text is, as the messages start: <c>"The model config"</c>, or a path and what it holds.</param>
    /// <param name="options">The parser's options (Python's non-finite literals must be quoted before this).</param>
    /// <returns>The document; the caller disposes it.</returns>
    /// <exception cref="InvalidDataException">The text is not JSON, or its root is not an object.</exception>
    public static JsonDocument ParseObject(string json, string subject, JsonDocumentOptions options = default)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{subject} is not valid JSON: {e.Message}", e);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            JsonValueKind kind = document.RootElement.ValueKind;
            document.Dispose();
            throw new InvalidDataException($"{subject} must be a JSON object; got {kind}.");
        }

        return document;
    }

    /// <summary>Reads and parses a file that must hold a JSON object.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The document; the caller disposes it.</returns>
    /// <exception cref="InvalidDataException">The file is not JSON, or not an object; the message starts with the path.</exception>
    public static JsonDocument ReadObject(string path) => ParseObject(File.ReadAllText(path), $"{path}: the file");

    /// <summary>Runs <paramref name="read"/>, prefixing the message of the <see cref="InvalidDataException"/> (or
    /// <see cref="JsonException"/>) it throws with <paramref name="source"/>, the file the data came from.</summary>
    /// <typeparam name="T">What is read.</typeparam>
    /// <param name="source">The file's path, or another name for where the data came from.</param>
    /// <param name="read">Reads or parses the data.</param>
    /// <returns>What <paramref name="read"/> returns.</returns>
    /// <exception cref="InvalidDataException">The data is malformed; the message starts with <paramref name="source"/>.</exception>
    public static T Naming<T>(string source, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is InvalidDataException or JsonException)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }
    }
}
