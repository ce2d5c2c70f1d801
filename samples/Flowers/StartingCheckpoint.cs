using System.Text.Json;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Training;

namespace Diffusion.Samples.Flowers;

/// <summary>
/// The committed starting weights (starting-checkpoint/ beside this file: EMA weights that our own Trainer
/// made with the command in starting-checkpoint/README.md, stored as float16). A run whose output folder has
/// no checkpoint yet starts from them when its model and image size match, so the default 10 minutes continue
/// an hour of training instead of starting from noise.
/// </summary>
internal static class StartingCheckpoint
{
    public const string WeightsFile = "unet-ema.f16.safetensors";

    /// <summary>Loads the committed weights when they fit; returns the training steps they had (for <c>TrainerOptions.InitialStep</c>), or null.</summary>
    public static long? LoadIfUseful(FlowersOptions options, UNet unet, string checkpointDirectory)
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "starting-checkpoint");
        string manifestPath = Path.Combine(folder, "options.json");
        string weights = Path.Combine(folder, WeightsFile);
        if (!options.UseStartingCheckpoint || TrainingCheckpoint.FindLatest(checkpointDirectory) is not null
            || !File.Exists(manifestPath) || !File.Exists(weights))
        {
            return null;
        }

        Manifest? made = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(manifestPath));
        if (made is null || made.ImageSize != options.ImageSize || !made.ModelDims.SequenceEqual(options.ModelDims))
        {
            Console.WriteLine("The committed starting weights were made for another model or image size; starting from noise.");
            return null;
        }

        unet.LoadSafeTensors(weights);
        Console.WriteLine($"Starting from the committed weights ({made.Steps} steps, made by: {made.Command}).");
        return made.Steps;
    }

    private sealed record Manifest(int ImageSize, int[] ModelDims, long Steps, string Command);
}
