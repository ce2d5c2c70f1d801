using System.Diagnostics;
using System.Globalization;
using Diffusion.Clip;
using Diffusion.Pipelines;
using static TorchSharp.torch;

namespace Diffusion.Samples.TextToImage;

/// <summary>
/// Scores images against their captions with the CLIP: is the caption the closest of all 37 (species and colour
/// right), is the closest caption's species (colour) right, and the mean cosine similarity with the caption.
/// </summary>
internal static class Evaluation
{
    public sealed record Row(string Name, int Images, double Exact, double Species, double Colour, double Similarity, TimeSpan Elapsed)
    {
        public string Markdown => string.Create(CultureInfo.InvariantCulture,
            $"| {Name} | {Images} | {Exact:P1} | {Species:P1} | {Colour:P1} | {Similarity:F3} | {Elapsed.TotalSeconds:F0} s |");
    }

    public const string Header = """
        | images | n | species × colour | species | colour | mean similarity | time |
        |---|---|---|---|---|---|---|
        """;

    /// <summary>The judge on real held-out flowers: the best the metric can say.</summary>
    public static Row Real(ClipModel clip, FlowerImages heldOut)
    {
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        Tensor images = heldOut.Images(0, heldOut.Count);
        int[] targets = [.. heldOut.Descriptions.Select(d => d.ClassIndex)];
        return Score("real held-out flowers", PromptAlignment.Measure(clip, images, targets, FlowerPrompts.All), clock.Elapsed);
    }

    /// <summary>Generates <paramref name="perPrompt"/> images of every caption and scores them.</summary>
    public static Row Generated(TextToImagePipeline pipeline, ClipModel clip, int perPrompt, double guidance, int steps, long seed)
    {
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        // Guidance 0 is the unconditional prediction alone: the same as drawing "" without guidance, at half the cost.
        Tensor images = guidance == 0
            ? pipeline.Generate([.. FlowerPrompts.All.Select(_ => string.Empty)], perPrompt, steps, 1, seed, batchSize: 128)
            : pipeline.Generate(FlowerPrompts.All, perPrompt, steps, guidance, seed, batchSize: 128);
        int[] targets = [.. Enumerable.Range(0, FlowerPrompts.All.Count).SelectMany(k => Enumerable.Repeat(k, perPrompt))];
        string name = string.Create(CultureInfo.InvariantCulture, $"generated, guidance {guidance:0.##}{(guidance == 1 ? " (none)" : guidance == 0 ? " (unconditional)" : string.Empty)}");
        return Score(name, PromptAlignment.Measure(clip, images, targets, FlowerPrompts.All), clock.Elapsed);
    }

    private static Row Score(string name, PromptAlignmentResult r, TimeSpan elapsed) => new(
        name,
        r.Targets.Count,
        r.Accuracy,
        r.AccuracyWhere((p, t) => FlowerPrompts.SpeciesOf(p) == FlowerPrompts.SpeciesOf(t)),
        r.AccuracyWhere((p, t) => FlowerPrompts.ColourOf(p) == FlowerPrompts.ColourOf(t)),
        r.MeanSimilarity,
        elapsed);
}
