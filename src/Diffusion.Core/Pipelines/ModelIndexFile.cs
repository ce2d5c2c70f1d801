using System.Text.Json;
using Diffusion.Internal;

namespace Diffusion.Pipelines;

/// <summary>Reading a diffusers pipeline folder's <c>model_index.json</c>, for every pipeline that opens one.</summary>
internal static class ModelIndexFile
{
    /// <summary>The pipeline index file of a diffusers pipeline folder.</summary>
    public const string FileName = "model_index.json";

    /// <summary>Parses the file and checks that it holds a JSON object.</summary>
    /// <param name="indexPath">The file.</param>
    /// <returns>The document; the caller disposes it.</returns>
    /// <exception cref="InvalidDataException">The file is not JSON, or not an object; the message names it.</exception>
    public static JsonDocument Parse(string indexPath) => DataFile.ReadObject(indexPath);
}
