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

    /// <summary>Whether this run's model is the one the committed weights were made for (and the run may use them):
    /// then the run, or the checkpoints it resumes, goes on from them.</summary>
    public static bool Fits(FlowersOptions options, UNet unet)
    {
        string configPath = Path.Combine(Folder, "config.json");
        return options.UseStartingCheckpoint && File.Exists(configPath) && UNetOptions.FromJson(File.ReadAllText(configPath)) == unet.Options;
    }

    /// <summary>Loads the committed weights when they fit and no checkpoint exists yet; returns the training steps they had
    /// (for <c>TrainerOptions.InitialStep</c>), or null.</summary>
    public static long? LoadIfUseful(FlowersOptions options, UNet unet, string checkpointDirectory)
    {
        string trainingPath = Path.Combine(Folder, "training.json");
        string weights = Path.Combine(Folder, WeightsFile);
        if (TrainingCheckpoint.FindLatest(checkpointDirectory) is not null || !File.Exists(trainingPath) || !File.Exists(weights))
        {
            return null;
        }

        if (!Fits(options, unet))
        {
            if (options.UseStartingCheckpoint)
            {
                Console.WriteLine("The committed starting weights were made for another model or image size; starting from noise.");
            }

            return null;
        }

        Training training = JsonSerializer.Deserialize<Training>(File.ReadAllText(trainingPath))
            ?? throw new InvalidDataException($"{trainingPath}: empty.");
        unet.LoadSafeTensors(weights);
        Console.WriteLine($"Starting from the committed weights ({training.Steps} steps, made by: {training.Command}).");
        return training.Steps;
    }

    private static string Folder => Path.Combine(AppContext.BaseDirectory, "starting-checkpoint");

    private sealed record Training(long Steps, string Command);
}
