using System.Buffers.Binary;
using Diffusion.Data;
using SkiaSharp;

namespace Diffusion.Tests.Data;

/// <summary>
/// Decoding through <see cref="ImageDecoder"/>: odd formats come out as RGB, bad input is an
/// <see cref="InvalidDataException"/> that names the source, never a native crash. The small files
/// inlined below were written with Pillow 9.4 (Debian 12) because Skia cannot encode them; the
/// expected colours are what Pillow's <c>convert("RGB")</c> gives for them.
/// </summary>
public sealed class ImageDecoderTests
{
    // Image.new('CMYK', (8, 8), (0, 200, 255, 30)).save(f, 'JPEG', quality=95); Pillow reads it as RGB (225, 49, 0).
    private const string CmykJpeg = "/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwACAQEBAQECAQEBAgICAgIEAwICAgIFBAQDBAYFBgYGBQYGBgcJCAYHCQcGBggLCAkKCgoKCgYICwwLCgwJCgoK/8AAFAgACAAIBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwD9/K/Nuv5/6/YSv//Z";

    // Image.fromarray(np.full((8, 8), 40000, np.uint16), 'I;16') saved as PNG: 16-bit grey.
    private const string Gray16Png = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAIEAAAAACx9D0UAAAAE0lEQVR4nGOc48CAApgYGAZCAAB4jADsc3edgQAAAABJRU5ErkJggg==";

    // 1-bit palette PNG, palette (10, 20, 30), (200, 100, 50); pixel (4, 4) uses the second entry.
    private const string PalettePng = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAIAQMAAAD+wSzIAAAABlBMVEUKFB7IZDJ3oLOcAAAADklEQVR4nGNggAIOCAUAAEgACW7fNPkAAAAASUVORK5CYII=";

    // Image.new('LA', (8, 8), (120, 0)): grey 120, fully transparent.
    private const string GreyAlphaPng = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAQAAABuBnYAAAAAEUlEQVR4nGOsYEAFTAwDIgAARBAAiMmi65kAAAAASUVORK5CYII=";

    // RGBA (200, 100, 50, 0) everywhere except (1, 1) = (10, 20, 30, 255).
    private const string TransparentRgbaPng = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAYAAADED76LAAAAJklEQVR4nGM8kWLEgA8wMTAwMDhtePMfr4J9ASKMeBUQtGKAFQAAzMsFboX+I+kAAAAASUVORK5CYII=";

    // RGB (30, 60, 90) with (4, 4) = (250, 10, 10), as GIF and as BMP.
    private const string Gif = "R0lGODdhCAAIAIEAAPoKCh48WgAAAAAAACwAAAAACAAIAAAIEAADCBxIsKDBgwgBIFzIMCAAOw==";
    private const string Bmp = "Qk32AAAAAAAAADYAAAAoAAAACAAAAAgAAAABABgAAAAAAMAAAADEDgAAxA4AAAAAAAAAAAAAWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweCgr6WjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjweWjwe";

    [Theory]
    [InlineData("zero", "is empty")]
    [InlineData("random", "is not a readable")]
    [InlineData("text", "is not a readable")]
    public void UnreadableBytesNameTheSource(string kind, string expected)
    {
        byte[] bytes = kind switch
        {
            "zero" => [],
            "random" => RandomBytes(4096),
            _ => "this is a caption, not a picture\n"u8.ToArray(),
        };
        var e = Assert.Throws<InvalidDataException>(() => Decode(bytes, 8, "dir/bad.png"));
        Assert.Contains("'dir/bad.png'", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Png)]
    [InlineData(SKEncodedImageFormat.Jpeg)]
    [InlineData(SKEncodedImageFormat.Webp)]
    public void TruncatedFilesAreRefused(SKEncodedImageFormat format)
    {
        using SKBitmap pattern = TestImages.Pattern(64, 64, tint: 3);
        byte[] whole = TestImages.Encode(pattern, format);
        foreach (int length in new[] { whole.Length / 2, whole.Length / 3, 30 })
        {
            var e = Assert.Throws<InvalidDataException>(() => Decode(whole[..length], 16, $"cut.{format}"));
            Assert.Contains($"'cut.{format}'", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void HugeDeclaredDimensionsAreRefusedBeforeDecoding()
    {
        var e = Assert.Throws<InvalidDataException>(() => Decode(PngHeaderOnly(100_000, 100_000), 64, "huge.png"));
        Assert.Equal("Image 'huge.png' declares 100000×100000 = 10000000000 pixels; the limit is 50000000 (MaxPixels).", e.Message);

        using SKBitmap small = TestImages.Pattern(64, 64);
        var limited = Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(TestImages.Encode(small, SKEncodedImageFormat.Png), 16, maxPixels: 1000, "small.png", new float[3 * 16 * 16]));
        Assert.Contains("declares 64×64 = 4096 pixels; the limit is 1000", limited.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExactSizePngKeepsEveryPixel()
    {
        using SKBitmap pattern = TestImages.Pattern(16, 16, tint: 5);
        float[] chw = Decode(TestImages.Encode(pattern, SKEncodedImageFormat.Png), 16, "p.png");
        for (int y = 0; y < 16; y++)
        {
            for (int x = 0; x < 16; x++)
            {
                SKColor c = pattern.GetPixel(x, y);
                Assert.Equal(c.Red / 255f, chw[(y * 16) + x]);
                Assert.Equal(c.Green / 255f, chw[256 + (y * 16) + x]);
                Assert.Equal(c.Blue / 255f, chw[512 + (y * 16) + x]);
            }
        }
    }

    [Fact]
    public void HalvingAveragesTwoByTwoBlocks()
    {
        // 16×16 of 2×2 blocks → 8×8: Skia's linear-mipmap filter at exactly ½ reads mip level 1, a 2×2 box average.
        using var bitmap = new SKBitmap(new SKImageInfo(16, 16, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < 16; y++)
        {
            for (int x = 0; x < 16; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)((x / 2) * 30), (byte)((y / 2) * 30), (byte)(((x % 2) * 40) + 100), 255));
            }
        }

        float[] chw = Decode(TestImages.Encode(bitmap, SKEncodedImageFormat.Png), 8, "blocks.png");
        for (int y = 0; y < 8; y++)
        {
            for (int x = 0; x < 8; x++)
            {
                Assert.Equal(x * 30 / 255f, chw[(y * 8) + x], 1.01f / 255);
                Assert.Equal(y * 30 / 255f, chw[64 + (y * 8) + x], 1.01f / 255);
                Assert.Equal(120 / 255f, chw[128 + (y * 8) + x], 1.01f / 255);
            }
        }
    }

    [Fact]
    public void ResizeAndCropFollowTorchvision()
    {
        // torchvision Resize(64) on 500×375: short side 64, long int(64·500/375) = 85.
        Assert.Equal((85, 64), ImageDecoder.ResizedSize(500, 375, 64));
        Assert.Equal((64, 85), ImageDecoder.ResizedSize(375, 500, 64));
        Assert.Equal((64, 64), ImageDecoder.ResizedSize(64, 64, 64));

        // CenterCrop: int(round((85 − 64) / 2)) = round(10.5) = 10 in Python (halves to even); round(11.5) = 12.
        Assert.Equal(10, ImageDecoder.CropOffset(85, 64));
        Assert.Equal(12, ImageDecoder.CropOffset(87, 64));
        Assert.Equal(0, ImageDecoder.CropOffset(64, 64));

        // A 48×16 image of red | green | blue thirds: the 16×16 centre crop is green.
        using var bitmap = new SKBitmap(new SKImageInfo(48, 16, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int x = 0; x < 48; x++)
        {
            for (int y = 0; y < 16; y++)
            {
                bitmap.SetPixel(x, y, x < 16 ? SKColors.Red : x < 32 ? SKColors.Lime : SKColors.Blue);
            }
        }

        float[] chw = Decode(TestImages.Encode(bitmap, SKEncodedImageFormat.Png), 16, "thirds.png");
        Assert.All(chw[..256], v => Assert.Equal(0f, v));
        Assert.All(chw[256..512], v => Assert.Equal(1f, v));
    }

    [Fact]
    public void CmykJpegBecomesRgb()
    {
        float[] chw = Decode(Convert.FromBase64String(CmykJpeg), 8, "cmyk.jpg");

        // Pillow gives (225, 49, 0); CMYK→RGB conversions differ slightly between libraries: allow 12 levels.
        AssertPixel(chw, 8, 4, 4, (225, 49, 0), tolerance: 12);
    }

    [Fact]
    public void GreyPaletteAndSixteenBitPngsBecomeRgb()
    {
        float[] palette = Decode(Convert.FromBase64String(PalettePng), 8, "palette.png");
        AssertPixel(palette, 8, 4, 4, (200, 100, 50), tolerance: 0);
        AssertPixel(palette, 8, 0, 0, (10, 20, 30), tolerance: 0);

        // 40000 / 65535 · 255 = 155.6: Skia scales 16-bit samples to 8 bits.
        float[] grey16 = Decode(Convert.FromBase64String(Gray16Png), 8, "grey16.png");
        AssertPixel(grey16, 8, 3, 5, (156, 156, 156), tolerance: 1);

        using var grey = new SKBitmap(new SKImageInfo(8, 8, SKColorType.Gray8, SKAlphaType.Opaque));
        grey.Erase(new SKColor(77, 77, 77));
        float[] gray8 = Decode(TestImages.Encode(grey, SKEncodedImageFormat.Png), 8, "grey.png");
        AssertPixel(gray8, 8, 2, 2, (77, 77, 77), tolerance: 0);
    }

    [Fact]
    public void AlphaIsDroppedNotComposited()
    {
        // Pillow's convert("RGB") keeps the colour under transparent pixels; so do we.
        float[] rgba = Decode(Convert.FromBase64String(TransparentRgbaPng), 8, "rgba.png");
        AssertPixel(rgba, 8, 5, 5, (200, 100, 50), tolerance: 0);
        AssertPixel(rgba, 8, 1, 1, (10, 20, 30), tolerance: 0);
        float[] greyAlpha = Decode(Convert.FromBase64String(GreyAlphaPng), 8, "la.png");
        AssertPixel(greyAlpha, 8, 0, 7, (120, 120, 120), tolerance: 0);
    }

    [Fact]
    public void GifBmpAndWebpDecode()
    {
        float[] gif = Decode(Convert.FromBase64String(Gif), 8, "a.gif");
        AssertPixel(gif, 8, 4, 4, (250, 10, 10), tolerance: 0);
        AssertPixel(gif, 8, 0, 0, (30, 60, 90), tolerance: 0);
        float[] bmp = Decode(Convert.FromBase64String(Bmp), 8, "a.bmp");
        AssertPixel(bmp, 8, 4, 4, (250, 10, 10), tolerance: 0);
        AssertPixel(bmp, 8, 7, 0, (30, 60, 90), tolerance: 0);
        using var solid = new SKBitmap(new SKImageInfo(8, 8, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        solid.Erase(new SKColor(40, 160, 220));
        float[] webp = Decode(TestImages.Encode(solid, SKEncodedImageFormat.Webp, 100), 8, "a.webp");
        AssertPixel(webp, 8, 3, 3, (40, 160, 220), tolerance: 4);
    }

    private static float[] Decode(byte[] bytes, int size, string source)
    {
        var chw = new float[3 * size * size];
        ImageDecoder.Decode(bytes, size, ImageDecoder.DefaultMaxPixels, source, chw);
        return chw;
    }

    private static void AssertPixel(float[] chw, int size, int x, int y, (int R, int G, int B) expected, int tolerance)
    {
        int plane = size * size;
        int o = (y * size) + x;
        int[] actual = [(int)MathF.Round(chw[o] * 255), (int)MathF.Round(chw[plane + o] * 255), (int)MathF.Round(chw[(2 * plane) + o] * 255)];
        int[] wanted = [expected.R, expected.G, expected.B];
        for (int c = 0; c < 3; c++)
        {
            Assert.True(Math.Abs(actual[c] - wanted[c]) <= tolerance, $"pixel ({x},{y}) is ({string.Join(",", actual)}); expected ({string.Join(",", wanted)}) ± {tolerance}");
        }
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        var random = new DeterministicRandom(99);
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)random.NextInt(256);
        }

        return bytes;
    }

    /// <summary>A PNG signature, an IHDR declaring width×height RGB, and a tiny IDAT: enough for a header read.</summary>
    private static byte[] PngHeaderOnly(int width, int height)
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
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        byte[] typed = [.. type.Select(c => (byte)c), .. data];
        stream.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(length, Crc32(typed));
        stream.Write(length);
    }

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
