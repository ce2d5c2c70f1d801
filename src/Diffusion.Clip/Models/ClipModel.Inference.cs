using SkiaSharp;

namespace Diffusion.Clip;

/// <summary>Inference API: normalised embeddings, similarity and zero-shot classification.</summary>
public sealed partial class ClipModel
{
    /// <summary>The prompt template that uses a label as it is.</summary>
    public const string IdentityTemplate = "{}";

    // Bounds the memory of one forward pass in the batched encoders.
    private const int InferenceBatchSize = 32;

    /// <summary>Normalised image embeddings of pixel tensors in [0, 1], preprocessed as <see cref="ImageProcessor"/> says.</summary>
    /// <param name="images"><c>[3, H, W]</c> or <c>[N, 3, H, W]</c> float pixels in [0, 1], any size.</param>
    /// <returns><c>[N, ProjectionDim]</c> unit vectors on the model's device, without gradients. The caller owns and disposes it.</returns>
    /// <exception cref="ArgumentException">The shape or dtype is wrong.</exception>
    public Tensor EncodeImages(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor pixels = ImageProcessor.Preprocess(images); // [3, S, S] or [N, 3, S, S]
        Tensor batch = (pixels.dim() == 3 ? pixels.unsqueeze(0) : pixels).to(ModelDevice);
        var parts = new List<Tensor>();
        for (long start = 0; start < batch.shape[0]; start += InferenceBatchSize)
        {
            parts.Add(Normalize(GetImageFeatures(batch.narrow(0, start, Math.Min(InferenceBatchSize, batch.shape[0] - start)))));
        }

        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>Normalised image embeddings of bitmaps.</summary>
    /// <param name="images">At least one image, any size.</param>
    /// <returns><c>[N, ProjectionDim]</c> unit vectors. The caller owns and disposes it.</returns>
    public Tensor EncodeImages(IReadOnlyList<SKBitmap> images)
    {
        RequireItems(images, nameof(images));
        using var scope = NewDisposeScope();
        Tensor[] pixels = [.. images.Select((b, i) => ImageProcessor.Preprocess(b ?? throw new ArgumentException($"images[{i}] is null.", nameof(images))))];
        return EncodePreprocessed(stack(pixels)).MoveToOuterDisposeScope();
    }

    /// <summary>Normalised image embeddings of image files.</summary>
    /// <param name="imagePaths">At least one path to a PNG, JPEG, WebP, … file.</param>
    /// <returns><c>[N, ProjectionDim]</c> unit vectors. The caller owns and disposes it.</returns>
    /// <exception cref="InvalidDataException">A file cannot be decoded; the message names it.</exception>
    public Tensor EncodeImages(IReadOnlyList<string> imagePaths)
    {
        RequireItems(imagePaths, nameof(imagePaths));
        using var scope = NewDisposeScope();
        Tensor[] pixels = [.. imagePaths.Select(ImageProcessor.Preprocess)];
        return EncodePreprocessed(stack(pixels)).MoveToOuterDisposeScope();
    }

    /// <summary>Normalised text embeddings.</summary>
    /// <param name="texts">At least one text; each is tokenized (and truncated) by <see cref="Tokenizer"/>.</param>
    /// <returns><c>[N, ProjectionDim]</c> unit vectors on the model's device, without gradients. The caller owns and disposes it.</returns>
    /// <exception cref="InvalidOperationException">The model has no tokenizer.</exception>
    public Tensor EncodeTexts(IReadOnlyList<string> texts)
    {
        RequireItems(texts, nameof(texts));
        ClipTokenizer tokenizer = RequireTokenizer();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        for (int start = 0; start < texts.Count; start += InferenceBatchSize)
        {
            string[] chunk = [.. texts.Skip(start).Take(InferenceBatchSize)];
            parts.Add(Normalize(GetTextFeatures(tokenizer.Tokenize(chunk).to(ModelDevice))));
        }

        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Zero-shot class embeddings: each label put into every template, the normalised embeddings
    /// averaged and normalised again (CLIP's prompt ensembling).
    /// </summary>
    /// <param name="labels">At least one label, e.g. "red tulip".</param>
    /// <param name="templates">Prompts with a <c>{}</c> where the label goes, e.g. "a photo of a {}."; null uses each label as it is.</param>
    /// <returns><c>[labels, ProjectionDim]</c> unit vectors. The caller owns and disposes it.</returns>
    /// <exception cref="ArgumentException">No labels, or a template without <c>{}</c>.</exception>
    public Tensor EncodeLabels(IReadOnlyList<string> labels, IReadOnlyList<string>? templates = null)
    {
        RequireItems(labels, nameof(labels));
        templates ??= [IdentityTemplate];
        RequireItems(templates, nameof(templates));
        for (int i = 0; i < templates.Count; i++)
        {
            if (templates[i] is null || !templates[i].Contains("{}", StringComparison.Ordinal))
            {
                throw new ArgumentException($"templates[{i}] must contain '{{}}' where the label goes; got '{templates[i]}'.", nameof(templates));
            }
        }

        string[] prompts = [.. labels.SelectMany((label, i) => templates.Select(t =>
            t.Replace("{}", label ?? throw new ArgumentException($"labels[{i}] is null.", nameof(labels)), StringComparison.Ordinal)))];
        using var scope = NewDisposeScope();
        Tensor perPrompt = EncodeTexts(prompts).view(labels.Count, templates.Count, -1); // [L, K, P]
        return Normalize(perPrompt.mean([1])).MoveToOuterDisposeScope(); // [L, P]
    }

    /// <summary>Cosine similarity of an image and a text, in [-1, 1].</summary>
    /// <param name="image"><c>[3, H, W]</c> float pixels in [0, 1].</param>
    /// <param name="text">The text.</param>
    /// <returns>The cosine of the angle between their embeddings.</returns>
    public float Similarity(Tensor image, string text)
    {
        ValidateSingleImage(image, nameof(image));
        using var scope = NewDisposeScope();
        return Cosine(EncodeImages(image), text);
    }

    /// <summary>Cosine similarity of an image and a text, in [-1, 1].</summary>
    /// <param name="image">The image.</param>
    /// <param name="text">The text.</param>
    /// <returns>The cosine of the angle between their embeddings.</returns>
    public float Similarity(SKBitmap image, string text)
    {
        using var scope = NewDisposeScope();
        return Cosine(EncodeImages([image]), text);
    }

    /// <summary>Cosine similarity of an image file and a text, in [-1, 1].</summary>
    /// <param name="imagePath">A PNG, JPEG, WebP, … file.</param>
    /// <param name="text">The text.</param>
    /// <returns>The cosine of the angle between their embeddings.</returns>
    public float Similarity(string imagePath, string text)
    {
        using var scope = NewDisposeScope();
        return Cosine(EncodeImages([imagePath]), text);
    }

    /// <summary>Zero-shot classification: the softmax over labels of exp(<c>logit_scale</c>) × cosine similarity.</summary>
    /// <param name="image"><c>[3, H, W]</c> float pixels in [0, 1].</param>
    /// <param name="labels">At least one label.</param>
    /// <param name="templates">Prompt templates with <c>{}</c>, e.g. "a photo of a {}."; null uses the labels as they are.</param>
    /// <returns>One probability per label, summing to 1.</returns>
    public IReadOnlyList<float> Classify(Tensor image, IReadOnlyList<string> labels, IReadOnlyList<string>? templates = null)
    {
        ValidateSingleImage(image, nameof(image));
        using var scope = NewDisposeScope();
        return Probabilities(EncodeImages(image), labels, templates);
    }

    /// <summary>Zero-shot classification: the softmax over labels of exp(<c>logit_scale</c>) × cosine similarity.</summary>
    /// <param name="image">The image.</param>
    /// <param name="labels">At least one label.</param>
    /// <param name="templates">Prompt templates with <c>{}</c>; null uses the labels as they are.</param>
    /// <returns>One probability per label, summing to 1.</returns>
    public IReadOnlyList<float> Classify(SKBitmap image, IReadOnlyList<string> labels, IReadOnlyList<string>? templates = null)
    {
        using var scope = NewDisposeScope();
        return Probabilities(EncodeImages([image]), labels, templates);
    }

    /// <summary>Zero-shot classification of an image file.</summary>
    /// <param name="imagePath">A PNG, JPEG, WebP, … file.</param>
    /// <param name="labels">At least one label.</param>
    /// <param name="templates">Prompt templates with <c>{}</c>; null uses the labels as they are.</param>
    /// <returns>One probability per label, summing to 1.</returns>
    public IReadOnlyList<float> Classify(string imagePath, IReadOnlyList<string> labels, IReadOnlyList<string>? templates = null)
    {
        using var scope = NewDisposeScope();
        return Probabilities(EncodeImages([imagePath]), labels, templates);
    }

    private Device ModelDevice => logit_scale.device;

    private static void RequireItems<T>(IReadOnlyList<T> items, string name)
    {
        ArgumentNullException.ThrowIfNull(items, name);
        if (items.Count == 0)
        {
            throw new ArgumentException($"{name} must hold at least one item; got none.", name);
        }
    }

    private static void ValidateSingleImage(Tensor image, string name)
    {
        ArgumentNullException.ThrowIfNull(image, name);
        if (image.dim() != 3)
        {
            throw new ArgumentException($"{name} must be one image [3,H,W]; got [{string.Join(',', image.shape)}].", name);
        }
    }

    private ClipTokenizer RequireTokenizer() => Tokenizer ?? throw new InvalidOperationException(
        "This ClipModel has no tokenizer: create it with one, or load a folder with vocab.json and merges.txt, or pass token ids to GetTextFeatures.");

    private Tensor EncodePreprocessed(Tensor pixels)
    {
        using var noGrad = no_grad();
        return Normalize(GetImageFeatures(pixels.to(ModelDevice)));
    }

    private float Cosine(Tensor imageEmbedding, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Tensor textEmbedding = EncodeTexts([text]); // [1, P]
        return imageEmbedding.mul(textEmbedding).sum().clamp(-1, 1).item<float>();
    }

    private float[] Probabilities(Tensor imageEmbedding, IReadOnlyList<string> labels, IReadOnlyList<string>? templates)
    {
        Tensor classes = EncodeLabels(labels, templates); // [L, P]
        Tensor logits = imageEmbedding.matmul(classes.t()) * LogitScale; // [1, L]
        return logits.softmax(-1).cpu().data<float>().ToArray();
    }
}
