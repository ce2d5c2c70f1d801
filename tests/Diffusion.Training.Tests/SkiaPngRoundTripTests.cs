using SkiaSharp;

namespace Diffusion.Tests;

public sealed class SkiaPngRoundTripTests
{
    [Fact]
    public void PngEncodeDecodeKeepsEveryPixel()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(7, 5, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < 5; y++)
        {
            for (int x = 0; x < 7; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 36), (byte)(y * 50), (byte)(x * y * 7), 255));
            }
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        using var decoded = SKBitmap.Decode(data.ToArray());

        Assert.Equal(7, decoded.Width);
        Assert.Equal(5, decoded.Height);
        for (int y = 0; y < 5; y++)
        {
            for (int x = 0; x < 7; x++)
            {
                Assert.Equal(bitmap.GetPixel(x, y), decoded.GetPixel(x, y));
            }
        }
    }
}
