using Diffusion.IO;
using SkiaSharp;

namespace Diffusion.Clip;

/// <summary>
/// CLIP's image preprocessing (Hugging Face <c>CLIPImageProcessor</c>): resize the shorter side to
/// <see cref="ClipImageProcessorOptions.ShortestEdge"/> with antialiased bicubic filtering, take the
/// centre square of <see cref="ClipImageProcessorOptions.CropSize"/>, then normalise each channel with
/// CLIP's mean and standard deviation.
/// </summary>
/// <remarks>
/// Images are resized as float tensors in [0, 1] (clamped after the bicubic filter's overshoot), where
/// Hugging Face resizes 8-bit PIL images: results agree to about one 8-bit level.
/// </remarks>
public sealed class ClipImageProcessor
{
    /// <summary>Creates a processor.</summary>
    /// <param name="options">The settings; validated.</param>
    public ClipImageProcessor(ClipImageProcessorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    /// <summary>The settings.</summary>
    public ClipImageProcessorOptions Options { get; }

    /// <summary>Preprocesses pixels in [0, 1]: <c>[3, H, W]</c> gives <c>[3, S, S]</c>, <c>[N, 3, H, W]</c> gives <c>[N, 3, S, S]</c> (S = crop size).</summary>
    /// <param name="image">Float pixels in [0, 1], RGB.</param>
    /// <returns>Normalised model input on the image's device. The caller owns and disposes it.</returns>
    /// <exception cref="ArgumentException">The shape or dtype is wrong.</exception>
    public Tensor Preprocess(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        bool single = image.dim() == 3;
        if (!(single || image.dim() == 4) || image.shape[^3] != 3 || !image.is_floating_point())
        {
            throw new ArgumentException(
                $"image must be a float tensor [3,H,W] or [N,3,H,W] in [0, 1]; got [{string.Join(',', image.shape)}] {image.dtype}.", nameof(image));
        }

        using var scope = NewDisposeScope();
        Tensor batch = (single ? image.unsqueeze(0) : image).to(float32); // [N, 3, H, W]
        long height = batch.shape[2], width = batch.shape[3];
        long shortSide = Math.Min(height, width), longSide = Math.Max(height, width);
        if (shortSide != Options.ShortestEdge)
        {
            // Hugging Face's get_resize_output_image_size: the long side is truncated, not rounded.
            long newLong = (long)((double)Options.ShortestEdge * longSide / shortSide);
            long[] size = height <= width ? [Options.ShortestEdge, newLong] : [newLong, Options.ShortestEdge];
            batch = nn.functional.interpolate(batch, size, mode: InterpolationMode.Bicubic, align_corners: false, antialias: true).clamp_(0, 1);
        }

        // Hugging Face's center_crop: offsets rounded down.
        long top = (batch.shape[2] - Options.CropSize) / 2, left = (batch.shape[3] - Options.CropSize) / 2;
        Tensor cropped = batch.narrow(2, top, Options.CropSize).narrow(3, left, Options.CropSize); // [N, 3, S, S]
        Tensor mean = tensor(Options.ImageMean.ToArray(), device: cropped.device).view(1, 3, 1, 1);
        Tensor std = tensor(Options.ImageStd.ToArray(), device: cropped.device).view(1, 3, 1, 1);
        Tensor normalised = (cropped - mean) / std;
        return (single ? normalised.squeeze(0) : normalised).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Preprocesses a bitmap to <c>[3, S, S]</c>.</summary>
    /// <param name="bitmap">The image.</param>
    /// <returns>Normalised model input on the CPU. The caller owns and disposes it.</returns>
    public Tensor Preprocess(SKBitmap bitmap)
    {
        using Tensor pixels = TensorImage.FromBitmap(bitmap);
        return Preprocess(pixels);
    }

    /// <summary>Reads an image file (PNG, JPEG, WebP, …) and preprocesses it to <c>[3, S, S]</c>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>Normalised model input on the CPU. The caller owns and disposes it.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an image Skia can decode; the message names the path.</exception>
    public Tensor Preprocess(string path)
    {
        using Tensor pixels = TensorImage.Load(path);
        return Preprocess(pixels);
    }
}
