using Diffusion.Clip.Models;
using TorchSharp.Modules;

namespace Diffusion.Clip;

/// <summary>
/// CLIP (Radford et al., 2021): a vision transformer and a causal text transformer projected into one
/// embedding space, with a learnable temperature. Parameter names, shapes and maths are those of
/// Hugging Face transformers' <c>CLIPModel</c>, so its checkpoints load unchanged (<see cref="Load"/>).
/// </summary>
/// <remarks>
/// <para><see cref="forward"/> and the <c>Get…</c> methods are the differentiable building blocks for
/// training; <see cref="EncodeImages(Tensor)"/>, <see cref="EncodeTexts"/>, <c>Similarity</c> and
/// <c>Classify</c> are the inference API (no gradients, inputs validated, images preprocessed).</para>
/// <para>The model owns its parameters; dispose it when done.</para>
/// <para>Thread safety: the inference API may be called from several threads at once (it only reads the
/// weights, under <c>no_grad</c>, and the tokenizer is immutable); each call returns what it returns alone.
/// Training, <c>to(device)</c>, <c>train()</c>/<c>eval()</c>, loading or disposing must not overlap with them.</para>
/// </remarks>
public sealed partial class ClipModel : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Upper bound of the temperature exp(<c>logit_scale</c>), as in CLIP's training.</summary>
    public const double MaxLogitScale = 100.0;

    private readonly ClipTransformer text_model;
    private readonly ClipTransformer vision_model;
    private readonly Linear visual_projection;
    private readonly Linear text_projection;
    private readonly Parameter logit_scale;

    /// <summary>Creates a CLIP model with freshly initialised weights (transformers' initialisation).</summary>
    /// <param name="config">The architecture; validated.</param>
    /// <param name="tokenizer">The tokenizer for the text API; optional (the tensor API needs none). Its context length must not exceed the text side's <see cref="ClipTextConfig.MaxPositionEmbeddings"/>, nor its vocabulary the text side's <see cref="ClipTextConfig.VocabSize"/>.</param>
    /// <param name="imageProcessing">Image preprocessing; defaults to CLIP's at the model's image size.</param>
    /// <exception cref="ArgumentException">The configuration or the tokenizer does not fit.</exception>
    public ClipModel(ClipConfig config, ClipTokenizer? tokenizer = null, ClipImageProcessorOptions? imageProcessing = null)
        : this(config, tokenizer, imageProcessing, initialize: true)
    {
    }

    internal ClipModel(ClipConfig config, ClipTokenizer? tokenizer, ClipImageProcessorOptions? imageProcessing, bool initialize)
        : base(nameof(ClipModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (tokenizer is not null)
        {
            config.TextConfig.CheckTokenizer(tokenizer, nameof(tokenizer), "text_config.");
        }

        Config = config;
        Tokenizer = tokenizer;
        ImageProcessor = new ClipImageProcessor(imageProcessing ?? ClipImageProcessorOptions.ForImageSize(config.VisionConfig.ImageSize));
        if (ImageProcessor.Options.CropSize != config.VisionConfig.ImageSize)
        {
            throw new ArgumentException(
                $"imageProcessing.CropSize must equal vision_config.image_size ({config.VisionConfig.ImageSize}); got {ImageProcessor.Options.CropSize}.",
                nameof(imageProcessing));
        }

        text_model = ClipTransformer.Text(config.TextConfig, initialize);
        vision_model = ClipTransformer.Vision(config.VisionConfig, initialize);
        visual_projection = nn.Linear(config.VisionConfig.HiddenSize, config.ProjectionDim, hasBias: false);
        text_projection = nn.Linear(config.TextConfig.HiddenSize, config.ProjectionDim, hasBias: false);
        logit_scale = nn.Parameter(tensor((float)config.LogitScaleInitValue));
        if (initialize)
        {
            ClipInit.Normal(visual_projection.weight!, Math.Pow(config.VisionConfig.HiddenSize, -0.5));
            ClipInit.Normal(text_projection.weight!, Math.Pow(config.TextConfig.HiddenSize, -0.5));
        }

        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public ClipConfig Config { get; }

    /// <summary>The tokenizer the text API uses, or null when the model has none (then pass token ids to the tensor API).</summary>
    public ClipTokenizer? Tokenizer { get; }

    /// <summary>The image preprocessing the image API uses.</summary>
    public ClipImageProcessor ImageProcessor { get; }

    /// <summary>The current temperature exp(<c>logit_scale</c>), at most <see cref="MaxLogitScale"/>.</summary>
    public float LogitScale
    {
        get
        {
            using var noGrad = no_grad();
            return (float)Math.Min(Math.Exp(logit_scale.item<float>()), MaxLogitScale);
        }
    }

    /// <summary>The raw learnable log temperature (Hugging Face key <c>logit_scale</c>); the trainer clamps it.</summary>
    internal Parameter LogitScaleParameter => logit_scale;

    /// <summary>exp(<c>logit_scale</c>) clamped at <see cref="MaxLogitScale"/>, differentiable, for losses.</summary>
    /// <returns>A scalar tensor. The caller owns and disposes it.</returns>
    public Tensor GetLogitScale() => logit_scale.exp().clamp_max(MaxLogitScale);

    /// <summary>Projected image embeddings, not normalised (Hugging Face <c>get_image_features</c>).</summary>
    /// <param name="pixelValues">Preprocessed pixels <c>[N, channels, S, S]</c> (S = <see cref="ClipVisionConfig.ImageSize"/>) on the model's device.</param>
    /// <returns><c>[N, ProjectionDim]</c>, with gradients when enabled. The caller owns and disposes it.</returns>
    /// <exception cref="ArgumentException">The shape does not fit the model.</exception>
    public Tensor GetImageFeatures(Tensor pixelValues)
    {
        ValidatePixels(pixelValues, nameof(pixelValues));
        using var scope = NewDisposeScope();
        return visual_projection.call(vision_model.call(pixelValues)).MoveToOuterDisposeScope();
    }

    /// <summary>Projected text embeddings pooled at the end-of-text token, not normalised (Hugging Face <c>get_text_features</c>).</summary>
    /// <param name="inputIds">Token ids <c>[N, T]</c> (int64, T ≤ <see cref="ClipTextConfig.MaxPositionEmbeddings"/>), each row holding its end-of-text token as its largest id.</param>
    /// <returns><c>[N, ProjectionDim]</c>. The caller owns and disposes it.</returns>
    /// <exception cref="ArgumentException">The shape, dtype or an id does not fit the model.</exception>
    public Tensor GetTextFeatures(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        Tensor hidden = GetTextHiddenStates(inputIds); // [N, T, C]
        return text_projection.call(ClipTransformer.Pool(hidden, inputIds)).MoveToOuterDisposeScope();
    }

    /// <summary>The text transformer's last hidden states after the final LayerNorm: the per-token conditioning diffusion models use.</summary>
    /// <param name="inputIds">Token ids <c>[N, T]</c> (int64).</param>
    /// <returns><c>[N, T, hidden_size]</c>. The caller owns and disposes it.</returns>
    /// <exception cref="ArgumentException">The shape, dtype or an id does not fit the model.</exception>
    public Tensor GetTextHiddenStates(Tensor inputIds)
    {
        ClipTransformer.ValidateIds(inputIds, Config.TextConfig, nameof(inputIds));
        return text_model.call(inputIds);
    }

    /// <summary>
    /// Scaled cosine similarities <c>logits_per_image [N_images, N_texts]</c>: normalised image and text
    /// embeddings multiplied, times exp(<c>logit_scale</c>) clamped at 100. Transpose for <c>logits_per_text</c>.
    /// </summary>
    /// <param name="pixelValues">Preprocessed pixels <c>[N, channels, S, S]</c>.</param>
    /// <param name="inputIds">Token ids <c>[M, T]</c>.</param>
    /// <returns><c>[N, M]</c>. The caller owns and disposes it.</returns>
    public override Tensor forward(Tensor pixelValues, Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        Tensor image = Normalize(GetImageFeatures(pixelValues)); // [N, P]
        Tensor text = Normalize(GetTextFeatures(inputIds)); // [M, P]
        return (GetLogitScale() * image.matmul(text.t())).MoveToOuterDisposeScope();
    }

    /// <summary>Divides each row by its L2 norm.</summary>
    internal static Tensor Normalize(Tensor features) => features / features.norm(1, keepdim: true);

    private void ValidatePixels(Tensor pixelValues, string name)
    {
        ArgumentNullException.ThrowIfNull(pixelValues, name);
        ClipVisionConfig v = Config.VisionConfig;
        long[] shape = pixelValues.shape;
        if (shape.Length != 4 || shape[0] < 1 || shape[1] != v.NumChannels || shape[2] != v.ImageSize || shape[3] != v.ImageSize || !pixelValues.is_floating_point())
        {
            throw new ArgumentException(
                $"{name} must be a float tensor [N,{v.NumChannels},{v.ImageSize},{v.ImageSize}]; got [{string.Join(',', shape)}] {pixelValues.dtype}.", name);
        }
    }
}
