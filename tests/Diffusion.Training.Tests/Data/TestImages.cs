using SkiaSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Data;

/// <summary>Small images for the data tests, made with SkiaSharp, and a grid writer to look at datasets.</summary>
internal static class TestImages
{
    /// <summary>A w×h RGBA bitmap whose pixel (x, y) is a known function of x, y and <paramref name="tint"/>.</summary>
    public static SKBitmap Pattern(int width, int height, int tint = 0)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)((x * 255 / Math.Max(1, width - 1)) ^ tint), (byte)(y * 255 / Math.Max(1, height - 1)), (byte)(tint * 37), 255));
            }
        }

        return bitmap;
    }

    /// <summary>Encodes <paramref name="bitmap"/> as <paramref name="format"/>.</summary>
    public static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality = 95)
    {
        using SKData data = bitmap.Encode(format, quality) ?? throw new InvalidOperationException($"Skia cannot encode {format}.");
        return data.ToArray();
    }

    /// <summary>Writes an encoded pattern image to <paramref name="path"/> (folders made as needed).</summary>
    public static void Write(string path, int width, int height, SKEncodedImageFormat format, int tint = 0)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using SKBitmap bitmap = Pattern(width, height, tint);
        File.WriteAllBytes(path, Encode(bitmap, format));
    }

    /// <summary>Writes [3,H,W] images in [0,1] as one PNG grid, each image enlarged <paramref name="zoom"/>× (nearest).</summary>
    public static void WriteGrid(string path, IReadOnlyList<Tensor> images, int columns, int zoom = 1)
    {
        int size = (int)images[0].shape[1];
        int cell = (size * zoom) + 2;
        int rows = (images.Count + columns - 1) / columns;
        using var bitmap = new SKBitmap(new SKImageInfo(columns * cell, rows * cell, SKColorType.Rgba8888, SKAlphaType.Premul));
        bitmap.Erase(SKColors.White);
        for (int i = 0; i < images.Count; i++)
        {
            float[] pixels = images[i].contiguous().data<float>().ToArray();
            int plane = size * size;
            for (int y = 0; y < size * zoom; y++)
            {
                for (int x = 0; x < size * zoom; x++)
                {
                    int s = ((y / zoom) * size) + (x / zoom);
                    var colour = new SKColor(ToByte(pixels[s]), ToByte(pixels[plane + s]), ToByte(pixels[(2 * plane) + s]));
                    bitmap.SetPixel(((i % columns) * cell) + 1 + x, ((i / columns) * cell) + 1 + y, colour);
                }
            }
        }

        string temp = path + ".tmp";
        File.WriteAllBytes(temp, Encode(bitmap, SKEncodedImageFormat.Png, 100));
        File.Move(temp, path, overwrite: true);
    }

    private static byte ToByte(float v) => (byte)Math.Clamp(MathF.Round(v * 255), 0, 255);
}
