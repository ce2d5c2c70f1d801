using System.Buffers.Binary;
using SkiaSharp;

namespace Diffusion.Tests.Support;

/// <summary>Image files for the folder tests: good ones in odd pixel formats, and broken ones.</summary>
internal static class ImageFiles
{
    // Image.new('CMYK', (8, 8), (0, 200, 255, 30)).save(f, 'JPEG', quality=95) with Pillow 9.4; reads as RGB (225, 49, 0).
    public const string CmykJpeg = "/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwACAQEBAQECAQEBAgICAgIEAwICAgIFBAQDBAYFBgYGBQYGBgcJCAYHCQcGBggLCAkKCgoKCgYICwwLCgwJCgoK/8AAFAgACAAIBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwD9/K/Nuv5/6/YSv//Z";

    // Image.new('LA', (8, 8), (120, 0)) saved as PNG: grey 120 with a fully transparent alpha channel.
    public const string GreyAlphaPng = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAQAAABuBnYAAAAAEUlEQVR4nGOsYEAFTAwDIgAARBAAiMmi65kAAAAASUVORK5CYII=";

    /// <summary>A w×h image whose pixels vary with x, y and <paramref name="tint"/>, encoded as <paramref name="format"/> in <paramref name="colorType"/>.</summary>
    public static byte[] Pattern(int width, int height, int tint, SKEncodedImageFormat format = SKEncodedImageFormat.Png, SKColorType colorType = SKColorType.Rgba8888, byte alpha = 255)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, colorType, SKAlphaType.Unpremul));
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)((x * 255 / Math.Max(1, width - 1)) ^ tint), (byte)(y * 255 / Math.Max(1, height - 1)), (byte)(tint * 37), alpha));
            }
        }

        using SKData data = bitmap.Encode(format, 95) ?? throw new InvalidOperationException($"Skia cannot encode {format} {colorType}.");
        return data.ToArray();
    }

    /// <summary>A PNG signature, an IHDR declaring width×height RGB and a tiny IDAT: what a header read sees.</summary>
    public static byte[] PngHeaderOnly(int width, int height)
    {
        var stream = new MemoryStream();
        stream.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        WriteChunk(stream, "IHDR", ihdr);
        WriteChunk(stream, "IDAT", [0x78, 0x9C, 0x63, 0x00, 0x00]);
        return stream.ToArray();
    }

    private static void WriteChunk(Stream stream, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        byte[] typed = [.. type.Select(c => (byte)c), .. data];
        stream.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typed));
        stream.Write(word);
    }

    // PNG's CRC-32 (polynomial 0xEDB88320), bit by bit: a few bytes only.
    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }
}
