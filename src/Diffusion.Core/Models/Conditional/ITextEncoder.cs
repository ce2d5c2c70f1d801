namespace Diffusion.Models;

/// <summary>
/// Turns texts into the per-token embeddings a <see cref="ConditionalUNet"/> attends to. Diffusion.Core knows
/// only this interface; <c>Diffusion.Clip</c>'s <c>ClipTextEncoder</c> implements it with a frozen CLIP text
/// transformer.
/// </summary>
/// <remarks>
/// Implementations are frozen: <see cref="Encode"/> runs without gradients, and the same text always gives the
/// same embeddings, which lets callers cache them per text. The empty text "" is the unconditional prompt.
/// </remarks>
public interface ITextEncoder
{
    /// <summary>Tokens per text, L (every text is padded or truncated to it).</summary>
    int SequenceLength { get; }

    /// <summary>Width of each token's embedding, D (a <see cref="ConditionalUNet"/>'s <see cref="ConditionalUNetOptions.ContextDim"/>).</summary>
    int EmbeddingDim { get; }

    /// <summary>Encodes texts.</summary>
    /// <param name="texts">At least one text; "" is the unconditional prompt.</param>
    /// <returns>float32 <c>[texts.Count, SequenceLength, EmbeddingDim]</c>, without gradients, on the encoder's device; the caller owns it.</returns>
    /// <exception cref="ArgumentException"><paramref name="texts"/> is empty or holds a null.</exception>
    Tensor Encode(IReadOnlyList<string> texts);
}
