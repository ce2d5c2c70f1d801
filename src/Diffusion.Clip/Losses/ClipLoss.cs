namespace Diffusion.Clip;

/// <summary>
/// CLIP's symmetric contrastive loss (open_clip <c>ClipLoss</c>, one process): with logits
/// <c>s · I·Tᵀ</c> over a batch of N matched pairs, the mean of the cross-entropy that picks each image's
/// own text and the one that picks each text's own image.
/// </summary>
/// <remarks>Inputs follow open_clip: L2-normalised features and the temperature already exponentiated (<see cref="ClipModel.GetLogitScale"/>).</remarks>
public sealed class ClipLoss : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    /// <summary>Creates the loss (it has no parameters).</summary>
    public ClipLoss()
        : base(nameof(ClipLoss))
    {
    }

    /// <summary>The loss for a batch: (CE(s·I·Tᵀ, i) + CE(s·T·Iᵀ, i)) / 2 with targets i = 0..N−1.</summary>
    /// <param name="imageFeatures">Normalised image embeddings <c>[N, D]</c>; row i matches text row i.</param>
    /// <param name="textFeatures">Normalised text embeddings <c>[N, D]</c>.</param>
    /// <param name="logitScale">The temperature exp(<c>logit_scale</c>), a scalar tensor.</param>
    /// <returns>A scalar tensor, differentiable. The caller owns and disposes it.</returns>
    /// <exception cref="ArgumentException">The shapes do not fit.</exception>
    public static Tensor Compute(Tensor imageFeatures, Tensor textFeatures, Tensor logitScale)
    {
        LossInputs.Validate(imageFeatures, textFeatures, logitScale);
        using var scope = NewDisposeScope();
        Tensor logitsPerImage = logitScale * imageFeatures.matmul(textFeatures.t()); // [N, N]
        Tensor logitsPerText = logitScale * textFeatures.matmul(imageFeatures.t()); // [N, N]
        Tensor labels = arange(imageFeatures.shape[0], dtype: int64, device: imageFeatures.device); // [N]
        Tensor loss = (nn.functional.cross_entropy(logitsPerImage, labels) + nn.functional.cross_entropy(logitsPerText, labels)) / 2;
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Same as <see cref="Compute"/>.</summary>
    /// <param name="imageFeatures">Normalised image embeddings <c>[N, D]</c>.</param>
    /// <param name="textFeatures">Normalised text embeddings <c>[N, D]</c>.</param>
    /// <param name="logitScale">The temperature, a scalar tensor.</param>
    /// <returns>A scalar tensor. The caller owns and disposes it.</returns>
    public override Tensor forward(Tensor imageFeatures, Tensor textFeatures, Tensor logitScale) =>
        Compute(imageFeatures, textFeatures, logitScale);
}
