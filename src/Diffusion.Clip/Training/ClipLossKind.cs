namespace Diffusion.Clip;

/// <summary>The contrastive objective <see cref="ClipTrainer"/> minimises.</summary>
public enum ClipLossKind
{
    /// <summary>CLIP's symmetric softmax cross-entropy (<see cref="ClipLoss"/>).</summary>
    Clip,

    /// <summary>SigLIP's pairwise sigmoid loss with a learned bias (<see cref="SigLipLoss"/>).</summary>
    SigLip,
}
