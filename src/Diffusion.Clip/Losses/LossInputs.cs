namespace Diffusion.Clip;

/// <summary>Validation shared by the contrastive losses.</summary>
internal static class LossInputs
{
    public static void Validate(Tensor imageFeatures, Tensor textFeatures, Tensor logitScale)
    {
        ArgumentNullException.ThrowIfNull(imageFeatures);
        ArgumentNullException.ThrowIfNull(textFeatures);
        ArgumentNullException.ThrowIfNull(logitScale);
        if (imageFeatures.dim() != 2 || imageFeatures.shape[0] < 1)
        {
            throw new ArgumentException($"imageFeatures must be [N,D] with N ≥ 1; got [{string.Join(',', imageFeatures.shape)}].", nameof(imageFeatures));
        }

        if (!textFeatures.shape.SequenceEqual(imageFeatures.shape))
        {
            throw new ArgumentException(
                $"textFeatures must match imageFeatures [{string.Join(',', imageFeatures.shape)}]; got [{string.Join(',', textFeatures.shape)}].", nameof(textFeatures));
        }

        if (logitScale.numel() != 1)
        {
            throw new ArgumentException($"logitScale must be a scalar; got [{string.Join(',', logitScale.shape)}].", nameof(logitScale));
        }
    }
}
