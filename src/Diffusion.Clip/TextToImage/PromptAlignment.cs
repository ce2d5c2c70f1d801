namespace Diffusion.Clip;

/// <summary>
/// Measures how well generated images follow their prompts with a CLIP model: zero-shot classification of each
/// image among candidate texts (is the prompt the closest?) and the cosine similarity between each image and its
/// prompt (the quantity behind the "CLIP score", which is 100 · max(cos, 0)).
/// </summary>
public static class PromptAlignment
{
    /// <summary>Scores images against their prompts.</summary>
    /// <param name="clip">The CLIP model (with a tokenizer) that judges.</param>
    /// <param name="images">Images <c>[N, 3, H, W]</c> in [0, 1], any size (preprocessed as the model says).</param>
    /// <param name="targets">For each image, the index of its prompt in <paramref name="candidates"/>.</param>
    /// <param name="candidates">Every text an image may be classified as (its own prompt among them), e.g. all species × colour captions.</param>
    /// <param name="templates">Prompt templates for the candidates (CLIP's ensembling, e.g. "a photo of {}."); null uses them as they are.</param>
    /// <returns>Per-image predictions and similarities.</returns>
    /// <exception cref="ArgumentException">The counts or indices do not fit.</exception>
    public static PromptAlignmentResult Measure(ClipModel clip, Tensor images, IReadOnlyList<int> targets, IReadOnlyList<string> candidates,
        IReadOnlyList<string>? templates = null)
    {
        ArgumentNullException.ThrowIfNull(clip);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(candidates);
        if (images.dim() != 4 || images.shape[0] != targets.Count)
        {
            throw new ArgumentException(
                $"images must be [N,3,H,W] with N = targets.Count ({targets.Count}); got [{string.Join(',', images.shape)}].", nameof(images));
        }

        for (int i = 0; i < targets.Count; i++)
        {
            if (targets[i] < 0 || targets[i] >= candidates.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), targets[i], $"targets[{i}] must lie in [0, {candidates.Count - 1}]; got {targets[i]}.");
            }
        }

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor imageEmbeddings = clip.EncodeImages(images);                                  // [N, P], unit vectors
        Tensor textEmbeddings = clip.EncodeLabels(candidates, templates).to(imageEmbeddings.device); // [K, P], unit vectors
        Tensor cosines = imageEmbeddings.matmul(textEmbeddings.t()).cpu();                   // [N, K]
        long[] predicted = cosines.argmax(1).data<long>().ToArray();
        Tensor index = tensor(targets.Select(t => (long)t).ToArray(), dtype: int64).unsqueeze(1); // [N, 1]
        float[] similarities = cosines.gather(1, index).squeeze(1).data<float>().ToArray();  // [N]
        return new PromptAlignmentResult([.. targets], [.. predicted.Select(p => (int)p)], similarities);
    }
}
