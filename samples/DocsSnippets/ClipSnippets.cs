using Diffusion.Clip;

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

    public static void Train(IReadOnlyList<string> captions, IClipDataset dataset)
    {
        // <snippet:clip-train>
        ClipTokenizer tokenizer = ClipTokenizer.FromCorpus(captions, contextLength: 16);
        using var model = new ClipModel(ClipConfig.Small(tokenizer.VocabularySize), tokenizer);
        using var trainer = new ClipTrainer(model, new ClipTrainerOptions { Steps = 500, BatchSize = 64 });
        ClipTrainingResult result = trainer.Fit(dataset);
        model.Save("my-clip/");
        // </snippet>
    }
}
