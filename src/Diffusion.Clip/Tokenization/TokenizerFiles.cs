using System.Text.Json;
using Diffusion.Internal;

namespace Diffusion.Clip;

/// <summary>
/// What a Hugging Face tokenizer folder says beside its vocabulary: the context length (<c>model_max_length</c> in
/// <c>tokenizer_config.json</c>) and the padding token (<c>pad_token</c> in <c>special_tokens_map.json</c>, else in
/// <c>tokenizer_config.json</c>; transformers writes it as a string or as an <c>AddedToken</c> object with <c>content</c>).
/// </summary>
internal static class TokenizerFiles
{
    public const string ConfigFileName = "tokenizer_config.json";
    public const string SpecialTokensFileName = "special_tokens_map.json";

    // transformers writes a huge number (int(1e30)) when a tokenizer has no limit; CLIP's position table has 77 rows.
    private const int MaxContextLength = 4096;

    public static (int ContextLength, string? PadToken) Read(string directory)
    {
        int contextLength = ClipTokenizer.DefaultContextLength;
        string? padToken = null;
        string configPath = Path.Combine(directory, ConfigFileName);
        if (File.Exists(configPath))
        {
            using JsonDocument config = DataFile.ReadObject(configPath);
            if (config.RootElement.TryGetProperty("model_max_length", out JsonElement max))
            {
                if (max.ValueKind != JsonValueKind.Number || !max.TryGetDouble(out double value) || value < 2 || value > MaxContextLength || value != Math.Floor(value))
                {
                    throw new InvalidDataException($"{configPath}: \"model_max_length\" must be a whole number in [2, {MaxContextLength}]; got {max.GetRawText()}.");
                }

                contextLength = (int)value;
            }

            padToken = PadToken(config.RootElement, configPath);
        }

        string specialPath = Path.Combine(directory, SpecialTokensFileName);
        if (File.Exists(specialPath))
        {
            using JsonDocument special = DataFile.ReadObject(specialPath);
            padToken = PadToken(special.RootElement, specialPath) ?? padToken;
        }

        return (contextLength, padToken);
    }

    private static string? PadToken(JsonElement root, string path)
    {
        if (!root.TryGetProperty("pad_token", out JsonElement pad) || pad.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (pad.ValueKind == JsonValueKind.String)
        {
            return pad.GetString();
        }

        if (pad.ValueKind == JsonValueKind.Object && pad.TryGetProperty("content", out JsonElement content) && content.ValueKind == JsonValueKind.String)
        {
            return content.GetString();
        }

        throw new InvalidDataException($"{path}: \"pad_token\" must be a string or an object with a string \"content\"; got {pad.GetRawText()}.");
    }
}
