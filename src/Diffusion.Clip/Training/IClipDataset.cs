namespace Diffusion.Clip;

/// <summary>
/// Captioned images for <see cref="ClipTrainer"/>. Diffusion.Clip defines its own small abstraction so
/// it does not depend on Diffusion.Training; adapt any dataset with a few lines (see the ClipZeroShot sample).
/// </summary>
public interface IClipDataset
{
    /// <summary>Number of image–caption pairs; at least 2 to train.</summary>
    int Count { get; }

    /// <summary>Reads one pair. Reading the same index twice gives the same pair.</summary>
    /// <param name="index">0 to <see cref="Count"/> − 1.</param>
    /// <returns>float32 pixels <c>[3, H, W]</c> in [0, 1] (any size; the trainer preprocesses them) and the caption.
    /// The caller owns and disposes the image tensor.</returns>
    (Tensor Image, string Caption) Get(int index);
}
