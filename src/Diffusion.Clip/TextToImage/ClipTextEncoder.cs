using Diffusion.Models;

namespace Diffusion.Clip;

/// <summary>
/// A frozen CLIP text transformer as an <see cref="ITextEncoder"/>: each text is tokenized by a <see cref="ClipTokenizer"/>
/// (truncated or padded to its context length with its <see cref="ClipTokenizer.PadId"/>) and encoded to the per-token hidden
/// states after the final LayerNorm, as Stable Diffusion conditions on CLIP. The text tower is that of a whole
/// <see cref="ClipModel"/> (<see cref="ClipModel.GetTextHiddenStates"/>) or a <see cref="ClipTextModel"/> (a diffusers
/// folder's <c>text_encoder/</c>).
/// </summary>
/// <remarks>
/// The constructor freezes the model it is given (<c>requires_grad = false</c> on every parameter, <c>eval()</c>), so nothing
/// trains it by accident; the caller keeps owning the model and disposes it after the encoder is no longer used. Outputs are
/// float32 on the model's device. <see cref="Encode"/> may run on several threads at once.
/// </remarks>
public sealed class ClipTextEncoder : ITextEncoder
{
    private readonly nn.Module module;
    private readonly Func<Tensor, Tensor> hiddenStates;

    /// <summary>Wraps and freezes the text tower of <paramref name="model"/>, with the model's tokenizer.</summary>
    /// <param name="model">A CLIP model with a tokenizer (e.g. from <see cref="ClipModel.Load"/> or a <see cref="ClipTrainer"/> run).</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ArgumentException">The model has no tokenizer.</exception>
    public ClipTextEncoder(ClipModel model)
        : this(model, (model ?? throw new ArgumentNullException(nameof(model))).Tokenizer
            ?? throw new ArgumentException("model must have a tokenizer (ClipModel.Load reads vocab.json and merges.txt; or pass one to the constructor).", nameof(model)),
            model.GetTextHiddenStates, model.Config.TextConfig)
    {
        Model = model;
    }

    /// <summary>Wraps and freezes a text-only CLIP model with a tokenizer, e.g. a diffusers folder's <c>text_encoder/</c> and <c>tokenizer/</c>.</summary>
    /// <param name="textModel">The text model (<see cref="ClipTextModel.FromPretrained"/>).</param>
    /// <param name="tokenizer">Its tokenizer (<see cref="ClipTokenizer.FromPretrained"/>).</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The tokenizer's context length exceeds the model's <c>max_position_embeddings</c>, or its vocabulary the model's <c>vocab_size</c>.</exception>
    public ClipTextEncoder(ClipTextModel textModel, ClipTokenizer tokenizer)
        : this(textModel ?? throw new ArgumentNullException(nameof(textModel)), tokenizer, textModel.call, textModel.Config)
    {
        TextModel = textModel;
    }

    private ClipTextEncoder(nn.Module module, ClipTokenizer tokenizer, Func<Tensor, Tensor> hiddenStates, ClipTextConfig config)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        config.CheckTokenizer(tokenizer, nameof(tokenizer), "the text model's ");
        this.module = module;
        this.hiddenStates = hiddenStates;
        Tokenizer = tokenizer;
        EmbeddingDim = config.HiddenSize;
        foreach (var parameter in module.parameters())
        {
            parameter.requires_grad = false;
        }

        module.eval();
    }

    /// <summary>The frozen CLIP model (owned by the caller), or null when the encoder wraps a <see cref="ClipTextModel"/>.</summary>
    public ClipModel? Model { get; }

    /// <summary>The frozen text-only model (owned by the caller), or null when the encoder wraps a whole <see cref="ClipModel"/>.</summary>
    public ClipTextModel? TextModel { get; }

    /// <summary>The tokenizer texts go through.</summary>
    public ClipTokenizer Tokenizer { get; }

    /// <inheritdoc />
    public int SequenceLength => Tokenizer.ContextLength;

    /// <inheritdoc />
    public int EmbeddingDim { get; }

    /// <inheritdoc />
    public Tensor Encode(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
        {
            throw new ArgumentException("texts must hold at least one text; got none.", nameof(texts));
        }

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Device device = module.parameters().First().device;
        Tensor ids = Tokenizer.Tokenize(texts).to(device);                 // [B, L] int64
        return hiddenStates(ids).to(float32).MoveToOuterDisposeScope();    // [B, L, D]
    }
}
