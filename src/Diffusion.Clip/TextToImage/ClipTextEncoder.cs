using Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Clip;

/// <summary>
/// A frozen CLIP text transformer as the <see cref="ITextEncoder"/> of a <see cref="ConditionalUNet"/>: each
/// text is tokenized by the model's <see cref="ClipTokenizer"/> (padded with the end-of-text id to its context
/// length) and encoded to the per-token hidden states after the final LayerNorm
/// (<see cref="ClipModel.GetTextHiddenStates"/>), as Stable Diffusion conditions on CLIP.
/// </summary>
/// <remarks>
/// The constructor freezes the whole CLIP model it is given (<c>requires_grad = false</c> on every parameter,
/// <c>eval()</c>), so nothing trains it by accident; the caller keeps owning the model and disposes it after the
/// encoder is no longer used. Outputs are float32 on the model's device.
/// </remarks>
public sealed class ClipTextEncoder : ITextEncoder
{
    private readonly ClipTokenizer tokenizer;

    /// <summary>Wraps and freezes <paramref name="model"/>.</summary>
    /// <param name="model">A CLIP model with a tokenizer (e.g. from <see cref="ClipModel.Load"/> or a <see cref="ClipTrainer"/> run).</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ArgumentException">The model has no tokenizer.</exception>
    public ClipTextEncoder(ClipModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        tokenizer = model.Tokenizer
            ?? throw new ArgumentException("model must have a tokenizer (ClipModel.Load reads vocab.json and merges.txt; or pass one to the constructor).", nameof(model));
        Model = model;
        foreach (var parameter in model.parameters())
        {
            parameter.requires_grad = false;
        }

        model.eval();
    }

    /// <summary>The frozen CLIP model (owned by the caller).</summary>
    public ClipModel Model { get; }

    /// <inheritdoc />
    public int SequenceLength => tokenizer.ContextLength;

    /// <inheritdoc />
    public int EmbeddingDim => Model.Config.TextConfig.HiddenSize;

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
        Device device = Model.parameters().First().device;
        Tensor ids = tokenizer.Tokenize(texts).to(device);                 // [B, L] int64
        return Model.GetTextHiddenStates(ids).to(float32).MoveToOuterDisposeScope(); // [B, L, D]
    }
}
