using System.Text.Json;
using Diffusion.Training;

namespace Diffusion.Samples.Flowers;

/// <summary>
/// The committed starting checkpoint (starting-checkpoint/ beside this file, made by our own Trainer with the
/// command in starting-checkpoint/README.md): a fresh output folder starts from it when the run's options
/// match the ones it was made with, so the default 10 minutes continue an hour of training instead of starting
/// from noise.
/// </summary>
internal static class StartingCheckpoint
{
    public static void CopyIfUseful(FlowersOptions options, string checkpointDirectory)
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "starting-checkpoint");
        string manifestPath = Path.Combine(folder, "options.json");
        if (!options.UseStartingCheckpoint || options.Data is not null || TrainingCheckpoint.FindLatest(checkpointDirectory) is not null || !File.Exists(manifestPath))
        {
            return;
        }

        Manifest? made = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(manifestPath));
        if (made is null || made.ImageSize != options.ImageSize || !made.ModelDims.SequenceEqual(options.ModelDims)
            || made.BatchSize != options.BatchSize || made.DatasetSize != options.DatasetSize || made.Seed != options.Seed)
        {
            Console.WriteLine("The committed starting checkpoint was made with other options; starting from noise.");
            return;
        }

        string? source = TrainingCheckpoint.FindLatest(folder);
        if (source is not null)
        {
            File.Copy(source, Path.Combine(checkpointDirectory, Path.GetFileName(source)));
            Console.WriteLine($"Starting from the committed checkpoint {Path.GetFileName(source)} (made by: {made.Command}).");
        }
    }

    private sealed record Manifest(int ImageSize, int[] ModelDims, int BatchSize, int DatasetSize, long Seed, string Command);
}
