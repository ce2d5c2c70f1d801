using System.Runtime.InteropServices;
using SkiaSharp;

namespace Diffusion.IO;

/// <summary>Conversions between [3, H, W] float tensors in [0, 1] and SkiaSharp bitmaps, and PNG files.</summary>
public static class TensorImage
{
    /// <summary>Converts a bitmap to a float32 [3, H, W] tensor in [0, 1] (alpha dropped, unpremultiplied RGB).
    /// The library's one bitmap-to-tensor conversion: CLIP preprocessing and the datasets' callers use it too.</summary>
    /// <param name="bitmap">Any colour type; it is converted to RGBA first.</param>
    /// <returns>A CPU tensor owned by the caller.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="bitmap"/> is null.</exception>
    /// <exception cref="ArgumentException">The bitmap has no pixels, or its colour type cannot be read as RGBA.</exception>
    public static Tensor FromBitmap(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        if (bitmap.Width <= 0 || bitmap.Height <= 0)
        {
            throw new ArgumentException($"bitmap must have pixels; got {bitmap.Width}x{bitmap.Height}.", nameof(bitmap));
        }

        int width = bitmap.Width;
        int height = bitmap.Height;
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        byte[] rgba = new byte[width * height * 4];
        GCHandle handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            using SKPixmap? pixmap = bitmap.PeekPixels();
            if (pixmap is null || !pixmap.ReadPixels(info, handle.AddrOfPinnedObject(), width * 4))
            {
                throw new ArgumentException($"bitmap's pixels ({bitmap.ColorType}, {bitmap.AlphaType}, {width}x{height}) cannot be converted to RGBA.", nameof(bitmap));
            }
        }
        finally
        {
            handle.Free();
        }

        using var scope = NewDisposeScope();
        Tensor pixels = tensor(rgba, [height, width, 4]);                        // [H, W, 4] uint8
        return pixels[.., .., ..3].permute(2, 0, 1).to(float32).div_(255f).contiguous().MoveToOuterDisposeScope(); // [3, H, W]
    }

    /// <summary>Reads an image file (PNG, JPEG, WebP, BMP, GIF's first frame) as a float32 [3, H, W] tensor in [0, 1].</summary>
    /// <param name="path">The file.</param>
    /// <returns>A CPU tensor owned by the caller.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an image SkiaSharp can decode; the message names the path.</exception>
    public static Tensor Load(string path)
    {
        using SKBitmap bitmap = Decode(path);
        return FromBitmap(bitmap);
    }

    /// <summary>Decodes an image file; the caller disposes the bitmap.</summary>
    internal static SKBitmap Decode(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"image file not found: {path}", path);
        }

        return SKBitmap.Decode(path) ?? throw new InvalidDataException($"{path}: not an image file that can be decoded.");
    }

    /// <summary>Converts a [3, H, W] tensor in [0, 1] (values outside are clamped) to an opaque RGBA bitmap.</summary>
    /// <param name="image">The image, any device and float dtype.</param>
    /// <returns>A bitmap owned by the caller.</returns>
    /// <exception cref="ArgumentException">The tensor is not [3, H, W].</exception>
    public static SKBitmap ToBitmap(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.ndim != 3 || image.shape[0] != 3)
        {
            throw new ArgumentException($"image must be [3,H,W]; got [{string.Join(',', image.shape)}].", nameof(image));
        }

        int height = (int)image.shape[1];
        int width = (int)image.shape[2];
        byte[] rgba;
        using (var scope = NewDisposeScope())
        {
            Tensor bytes = image.detach().to(float32).cpu().clamp(0, 1).mul(255).round().to(ScalarType.Byte); // [3, H, W]
            Tensor withAlpha = cat([bytes, full([1, height, width], 255, ScalarType.Byte)], 0).permute(1, 2, 0).contiguous(); // [H, W, 4]
            rgba = withAlpha.data<byte>().ToArray();
        }

        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }

    /// <summary>Writes a [3, H, W] image in [0, 1] as a PNG file, atomically (temporary file, then rename).</summary>
    /// <param name="image">The image.</param>
    /// <param name="path">The destination; its folder is created.</param>
    public static void SavePng(Tensor image, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using SKBitmap bitmap = ToBitmap(image);
        SavePng(bitmap, path);
    }

    /// <summary>Writes a bitmap as a PNG file, atomically.</summary>
    /// <param name="bitmap">The bitmap.</param>
    /// <param name="path">The destination; its folder is created.</param>
    public static void SavePng(SKBitmap bitmap, string path)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode a {bitmap.Width}x{bitmap.Height} PNG.");
        AtomicFile.WriteAllBytes(path, data.AsSpan());
    }
}
