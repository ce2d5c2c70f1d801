using System.Text.Json;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Training;

namespace Diffusion.Samples.Flowers;

/// <summary>
/// The committed starting weights (starting-checkpoint/ beside this file: a <see cref="UNet.SavePretrained"/> folder
/// of EMA weights that our own Trainer made with the command in starting-checkpoint/README.md, stored as float16).
/// A run whose output folder has no checkpoint yet starts from them when its model and image size match, so the
/// default 10 minutes continue an hour of training instead of starting from noise.
/// </summary>
internal static class StartingCheckpoint
{
    public const string WeightsFile = "diffusion_pytorch_model.fp16.safetensors";

    /// <summary>Loads the committed weights when they fit; returns the training steps they had (for <c>TrainerOptions.InitialStep</c>), or null.</summary>
    public static long? LoadIfUseful(FlowersOptions options, UNet unet, string checkpointDirectory)
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "starting-checkpoint");
        string configPath = Path.Combine(folder, "config.json");
        string trainingPath = Path.Combine(folder, "training.json");
        string weights = Path.Combine(folder, WeightsFile);
        if (!options.UseStartingCheckpoint || TrainingCheckpoint.FindLatest(checkpointDirectory) is not null
            || !File.Exists(configPath) || !File.Exists(trainingPath) || !File.Exists(weights))
        {
            return null;
        }

        UNetOptions made = UNetOptions.FromJson(File.ReadAllText(configPath));
        if (made != unet.Options)
        {
            Console.WriteLine("The committed starting weights were made for another model or image size; starting from noise.");
            return null;
        }

        Training training = JsonSerializer.Deserialize<Training>(File.ReadAllText(trainingPath))
            ?? throw new InvalidDataException($"{trainingPath}: empty.");
        unet.LoadSafeTensors(weights);
        Console.WriteLine($"Starting from the committed weights ({training.Steps} steps, made by: {training.Command}).");
        return training.Steps;
    }

    private sealed record Training(long Steps, string Command);
}
