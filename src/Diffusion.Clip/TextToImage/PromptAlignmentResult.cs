namespace Diffusion.Clip;

/// <summary>What <see cref="PromptAlignment.Measure"/> found, image by image.</summary>
/// <param name="Targets">Each image's prompt (an index into the candidates).</param>
/// <param name="Predicted">The candidate CLIP finds closest to each image.</param>
/// <param name="Similarities">Cosine similarity of each image with its own prompt, in [−1, 1].</param>
public sealed record PromptAlignmentResult(IReadOnlyList<int> Targets, IReadOnlyList<int> Predicted, IReadOnlyList<float> Similarities)
{
    /// <summary>Share of images whose closest candidate is their own prompt.</summary>
    public double Accuracy => AccuracyWhere((predicted, target) => predicted == target);

    /// <summary>Mean cosine similarity between images and their prompts.</summary>
    public double MeanSimilarity => Similarities.Count == 0 ? double.NaN : Similarities.Average(s => (double)s);

    /// <summary>Share of images whose prediction counts as right by a looser rule (e.g. the same species, whatever the colour).</summary>
    /// <param name="same">(predicted, target) → whether that counts as right.</param>
    /// <returns>The share, in [0, 1]; NaN when there are no images.</returns>
    public double AccuracyWhere(Func<int, int, bool> same)
    {
        ArgumentNullException.ThrowIfNull(same);
        return Targets.Count == 0 ? double.NaN : Predicted.Zip(Targets).Count(p => same(p.First, p.Second)) / (double)Targets.Count;
    }
}
