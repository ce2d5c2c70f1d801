using SkiaSharp;

namespace Diffusion.Data;

/// <summary>
/// Decodes an encoded image (JPEG, PNG, WebP, BMP, GIF — whatever Skia's codecs read) into the
/// <see cref="ImageItem.Image"/> layout the way torchvision's <c>Resize(size)</c> +
/// <c>CenterCrop(size)</c> + <c>ToTensor()</c> do after PIL's <c>convert("RGB")</c>.
/// </summary>
/// <remarks>
/// <list type="number">
/// <item>Dimensions are read from the header first; more than the allowed pixel count is refused
/// before any pixel memory is allocated.</item>
/// <item>Pixels are decoded to 8-bit RGBA without colour management (PIL ignores ICC profiles and EXIF
/// orientation too); grey, palette, 16-bit and CMYK inputs come out as RGB. Alpha is dropped, not
/// composited, as PIL's <c>convert("RGB")</c> does. GIF and WebP animations give their first frame.</item>
/// <item>The shorter side is resized to <c>size</c>, the longer to <c>floor(size · long / short)</c>
/// (torchvision's rule), with Skia's linear filter over linear mipmaps, so shrinking is antialiased
/// like PIL's bilinear filter (whose support widens with the scale). The two filters are not the same:
/// they differ by about 4–5 of 255 levels per pixel on average at 32–64 px; see docs/datasets.md.</item>
/// <item>The centre <c>size</c>² window is kept (offsets rounded half to even, as Python's <c>round</c>).</item>
/// </list>
/// Any failure is an <see cref="InvalidDataException"/> that names <c>source</c>.
/// </remarks>
internal static class ImageDecoder
{
    /// <summary>Default pixel-count limit: about 7,000 × 7,000, 200 MB of RGBA while decoding.</summary>
    public const long DefaultMaxPixels = 50_000_000;

    /// <summary>
    /// Bilinear within a mipmap level and linear between the two nearest levels. Plain bilinear samples
    /// only 2×2 source pixels whatever the scale, which aliases badly when shrinking a photo 10×; the
    /// mipmaps (2×2 box-filtered halvings) make it antialiased like PIL's bilinear filter.
    /// </summary>
    private static readonly SKSamplingOptions Trilinear = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    /// <summary>Decodes, resizes and centre-crops into <paramref name="chw"/> (3 × size × size floats in [0, 1]).</summary>
    /// <param name="encoded">The file's bytes.</param>
    /// <param name="size">Output side.</param>
    /// <param name="maxPixels">Largest width × height accepted.</param>
    /// <param name="source">File path or shard/row description, for error messages.</param>
    /// <param name="chw">Destination.</param>
    /// <exception cref="InvalidDataException">Empty, unreadable, truncated, corrupt or too large.</exception>
    public static void Decode(ReadOnlySpan<byte> encoded, int size, long maxPixels, string source, Span<float> chw)
    {
        if (encoded.IsEmpty)
        {
            throw new InvalidDataException($"Image '{source}' is empty (0 bytes).");
        }

        using var data = SKData.CreateCopy(encoded);
        using SKCodec? codec = SKCodec.Create(new SKMemoryStream(data), out SKCodecResult created);
        if (codec is null)
        {
            throw new InvalidDataException($"Image '{source}' is not a readable JPEG, PNG, WebP, BMP or GIF ({encoded.Length} bytes; Skia: {created}).");
        }

        int width = codec.Info.Width;
        int height = codec.Info.Height;
        if (width < 1 || height < 1 || (long)width * height > maxPixels)
        {
            throw new InvalidDataException($"Image '{source}' declares {width}×{height} = {(long)width * height} pixels; the limit is {maxPixels} (MaxPixels).");
        }

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap();
        if (!bitmap.TryAllocPixels(info))
        {
            throw new InvalidDataException($"Image '{source}' ({width}×{height}) does not fit in memory.");
        }

        SKCodecResult decoded = codec.GetPixels(info, bitmap.GetPixels());
        if (decoded != SKCodecResult.Success)
        {
            string what = decoded == SKCodecResult.IncompleteInput ? "is truncated" : "could not be decoded";
            throw new InvalidDataException($"Image '{source}' ({codec.EncodedFormat}, {width}×{height}) {what} (Skia: {decoded}).");
        }

        if (codec.Info.AlphaType != SKAlphaType.Opaque)
        {
            DropAlpha(bitmap.GetPixelSpan());
        }

        (int resizedWidth, int resizedHeight) = ResizedSize(width, height, size);
        using SKBitmap resized = Resize(bitmap, resizedWidth, resizedHeight, source);
        int left = CropOffset(resizedWidth, size);
        int top = CropOffset(resizedHeight, size);
        PixelConversion.Crop(resized.GetPixelSpan(), resized.RowBytes, left, top, size, chw);
    }

    /// <summary>Decodes into a new float32 [3, size, size] tensor owned by the caller.</summary>
    public static Tensor DecodeToTensor(ReadOnlySpan<byte> encoded, int size, long maxPixels, string source)
    {
        var chw = new float[3 * size * size];
        Decode(encoded, size, maxPixels, source, chw);
        return torch.tensor(chw, [3, size, size]);
    }

    /// <summary>torchvision's <c>Resize(size)</c> on a PIL image: the shorter side becomes <paramref name="size"/>.</summary>
    internal static (int Width, int Height) ResizedSize(int width, int height, int size) =>
        width <= height
            ? (size, (int)((long)size * height / width))
            : ((int)((long)size * width / height), size);

    /// <summary>torchvision's <c>CenterCrop</c> offset: <c>int(round((length − size) / 2))</c>, halves to even.</summary>
    internal static int CropOffset(int length, int size) => (int)Math.Round((length - size) / 2.0, MidpointRounding.ToEven);

    private static SKBitmap Resize(SKBitmap source, int width, int height, string name)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        if (width == source.Width && height == source.Height)
        {
            source.GetPixelSpan().CopyTo(bitmap.GetPixelSpan());
        }
        else if (!source.ScalePixels(bitmap, Trilinear))
        {
            bitmap.Dispose();
            throw new InvalidDataException($"Image '{name}' could not be resized from {source.Width}×{source.Height} to {width}×{height}.");
        }

        return bitmap;
    }

    private static void DropAlpha(Span<byte> rgba)
    {
        for (int i = 3; i < rgba.Length; i += 4)
        {
            rgba[i] = 255;
        }
    }
}
