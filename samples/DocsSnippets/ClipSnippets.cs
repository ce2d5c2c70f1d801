using Diffusion.Clip;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace Diffusion.Samples.DocsSnippets;

/// <summary>docs/clip.md and the Diffusion.Clip package readme.</summary>
internal static class ClipSnippets
{
    public static void Load()
    {
        // <snippet:clip-load>
        using var clip = ClipModel.Load("clip-vit-base-patch32/");   // a Hugging Face download
        float s = clip.Similarity("tulip.jpg", "a red tulip");      // cosine, in [-1, 1]
        IReadOnlyList<float> p = clip.Classify("tulip.jpg", ["red tulip", "yellow daisy"], ["a photo of a {}."]);
        // </snippet>
    }

    public static void Frechet(ClipModel clip, Tensor generated, Tensor heldOut, Tensor heldOutAgain)
    {
        // <snippet:clip-frechet>
        // generated, heldOut: [N, 3, H, W] pixels in [0, 1], a few hundred images or more each
        double distance = FrechetDistance.Compute(clip, generated, heldOut);
        double floor = FrechetDistance.Compute(clip, heldOutAgain, heldOut);   // two real sets: the best to hope for
        Console.WriteLine($"CLIP Fréchet distance {distance:F4} (real vs real: {floor:F4})");

        // or from embeddings you already have ([N, D], any float dtype)
        using Tensor a = clip.EncodeImages(generated), b = clip.EncodeImages(heldOut);
        double same = FrechetDistance.Compute(a, b);
        // </snippet>
    }

    public static void Train(IReadOnlyList<string> captions, IClipDataset dataset)
    {
        // <snippet:clip-train>
        ClipTokenizer tokenizer = ClipTokenizer.FromCorpus(captions, contextLength: 16);
        using var model = new ClipModel(ClipConfig.Small(tokenizer.VocabularySize), tokenizer);
        using var trainer = new ClipTrainer(model, new ClipTrainerOptions { MaxSteps = 500, BatchSize = 64 });
        ClipTrainingResult result = trainer.Fit(dataset);
        model.Save("my-clip/");
        // </snippet>
    }

    public static void TrainWithCheckpoints(ClipModel model, IClipDataset dataset, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        // <snippet:clip-train-checkpoints>
        var options = new ClipTrainerOptions
        {
            MaxSteps = 2_000, BatchSize = 64, LearningRate = 1e-3, Seed = 1,
            CheckpointDirectory = "clip-checkpoints/", CheckpointEverySteps = 200,
            LoggerFactory = loggerFactory,
        };
        using var trainer = new ClipTrainer(model, options);
        ClipTrainingResult result = trainer.Fit(dataset, progress: null, cancellationToken);
        if (result.Cancelled) { /* the newest checkpoint is resumable: the next Fit goes on from it */ }
        // </snippet>
    }
}
