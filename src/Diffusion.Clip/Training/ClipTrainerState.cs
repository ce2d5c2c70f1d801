using System.Text.Json;
using System.Text.Json.Serialization;

namespace Diffusion.Clip;

/// <summary>The small JSON file (<c>trainer_state.json</c>) next to a checkpoint's weights.</summary>
internal sealed record ClipTrainerState
{
    public const string FileName = "trainer_state.json";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public int Step { get; init; }

    public int TotalSteps { get; init; }

    public float Loss { get; init; }

    public double LearningRate { get; init; }

    public float LogitScale { get; init; }

    public ClipLossKind LossKind { get; init; }

    public float? LogitBias { get; init; }

    public int Seed { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static ClipTrainerState Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<ClipTrainerState>(File.ReadAllText(path), JsonOptions)
                ?? throw new InvalidDataException($"{path}: empty trainer state.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid trainer state: {e.Message}", e);
        }
    }
}
