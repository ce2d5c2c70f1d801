namespace Diffusion.Data;

/// <summary>Mirrors the image left–right with a given probability (torchvision's <c>RandomHorizontalFlip</c>).</summary>
public sealed class RandomHorizontalFlip : IImageTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="probability">Chance of flipping, in [0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="probability"/> is outside [0, 1].</exception>
    public RandomHorizontalFlip(double probability = 0.5)
    {
        if (!(probability >= 0 && probability <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(probability), probability, $"probability must be in [0, 1]; got {probability}.");
        }

        Probability = probability;
    }

    /// <summary>Chance of flipping.</summary>
    public double Probability { get; }

    /// <inheritdoc/>
    /// <remarks>Draws exactly one number from <paramref name="random"/>; returns <paramref name="image"/> itself when not flipping.</remarks>
    public Tensor Apply(Tensor image, DeterministicRandom random)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(random);
        return random.NextBool(Probability) ? image.flip(-1) : image;
    }

    /// <inheritdoc/>
    public override string ToString() => $"RandomHorizontalFlip({Probability})";
}
