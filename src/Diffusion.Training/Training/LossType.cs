namespace Diffusion.Training;

/// <summary>The per-element loss between the model's prediction and its target.</summary>
public enum LossType
{
    /// <summary>Mean absolute error, the book's choice (it beat MSE on the flowers).</summary>
    L1,

    /// <summary>Mean squared error, as in DDPM.</summary>
    Mse,
}
