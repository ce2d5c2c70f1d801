namespace Diffusion.Data;

/// <summary>
/// A random augmentation the <see cref="DataLoader"/> applies to each item after the dataset has
/// decoded, resized and cropped it (e.g. <see cref="RandomHorizontalFlip"/>).
/// </summary>
/// <remarks>
/// <para>
/// The loader calls <see cref="Apply"/> on its worker threads, concurrently: implementations must be
/// thread-safe (stateless, in practice). All randomness must come from <c>random</c>, which the loader
/// seeds from (<see cref="DataLoaderOptions.Seed"/>, epoch, item index) and passes through the
/// transforms in list order: that is what makes augmentation identical whatever the worker count or
/// timing, and on resume. Draw the same number of values whatever the outcome, so later transforms
/// see the same stream.
/// </para>
/// <para>
/// The loader runs the transforms inside a dispose scope that ends when the item has been copied into
/// its batch: a transform may return its input or a new tensor, need not dispose intermediates, must
/// not dispose its input, and must not keep any tensor.
/// </para>
/// </remarks>
public interface IImageTransform
{
    /// <summary>Transforms one image.</summary>
    /// <param name="image">float32 [3, S, S] in [0, 1], S = the dataset's image size.</param>
    /// <param name="random">The item's random stream.</param>
    /// <returns>float32 [3, S, S] in [0, 1] (the loader checks the shape).</returns>
    Tensor Apply(Tensor image, DeterministicRandom random);
}
