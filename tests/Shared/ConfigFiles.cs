using System.Text.Json.Nodes;

namespace Diffusion.Tests;

/// <summary>Edits a model folder's <c>config.json</c> in place, for tests of configs that break a rule.</summary>
internal static class ConfigFiles
{
    /// <summary>Parses <c>folder/config.json</c>, applies <paramref name="edit"/> and writes it back.</summary>
    public static void Rewrite(string folder, Action<JsonObject> edit)
    {
        string path = Path.Combine(folder, "config.json");
        JsonObject config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }
}
