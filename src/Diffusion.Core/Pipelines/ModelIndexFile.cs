using System.Text.Json;

namespace Diffusion.Pipelines;

/// <summary>Reading a diffusers pipeline folder's <c>model_index.json</c>, for every pipeline that opens one.</summary>
internal static class ModelIndexFile
{
    /// <summary>Parses the file and checks that it holds a JSON object.</summary>
    /// <param name="indexPath">The file.</param>
    /// <returns>The document; the caller disposes it.</returns>
    /// <exception cref="InvalidDataException">The file is not JSON, or not an object; the message names it.</exception>
    public static JsonDocument Parse(string indexPath)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(indexPath));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{indexPath}: not valid JSON: {e.Message}", e);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            JsonValueKind kind = document.RootElement.ValueKind;
            document.Dispose();
            throw new InvalidDataException($"{indexPath}: must be a JSON object; got {kind}.");
        }

        return document;
    }
}
