using Diffusion.IO;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.IO;

public sealed class ImageGridTests
{
    [Fact]
    public void TensorBitmapRoundTripIsExactOnByteValues()
    {
        using var scope = NewDisposeScope();
        Tensor image = randint(0, 256, [3, 5, 7], generator: new Generator(1)).to(float32) / 255f;
        using SKBitmap bitmap = TensorImage.ToBitmap(image);
        Tensor back = TensorImage.FromBitmap(bitmap);
        Assert.Equal(new long[] { 3, 5, 7 }, back.shape);
        Assert.True(back.allclose(image, rtol: 0, atol: 1e-6), "pixel values changed in the round trip");
    }

    [Fact]
    public void APngLoadsBackAsTheSameTensorAndBadInputIsNamed()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        Tensor image = randint(0, 256, [3, 4, 6], generator: new Generator(2)).to(float32) / 255f;
        string path = Path.Combine(dir.Path, "image.png");
        TensorImage.SavePng(image, path);
        Assert.True(TensorImage.Load(path).allclose(image, rtol: 0, atol: 1e-6), "a PNG did not load back as its pixels");

        Assert.Throws<FileNotFoundException>(() => TensorImage.Load(Path.Combine(dir.Path, "missing.png")));
        string text = Path.Combine(dir.Path, "not-an-image.png");
        File.WriteAllText(text, "hello");
        Assert.Contains(text, Assert.Throws<InvalidDataException>(() => TensorImage.Load(text)).Message, StringComparison.Ordinal);
        using var empty = new SKBitmap();
        Assert.Equal("bitmap", Assert.Throws<ArgumentException>(() => TensorImage.FromBitmap(empty)).ParamName);
    }

    [Fact]
    public void GridPlacesEachImageAndDecodesFromPng()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        // Five flat images: red, green, blue, black, grey.
        float[][] colours = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0], [0.5f, 0.5f, 0.5f]];
        Tensor images = stack(colours.Select(c => tensor(c).view(3, 1, 1).expand(3, 4, 6)).ToArray());
        string path = Path.Combine(dir.Path, "grid.png");
        ImageGrid.Save(images, path, columns: 2, padding: 1);

        using SKBitmap decoded = SKBitmap.Decode(path);
        Assert.Equal(1 + (2 * (6 + 1)), decoded.Width);   // 2 columns
        Assert.Equal(1 + (3 * (4 + 1)), decoded.Height);  // 3 rows
        Assert.Equal(new SKColor(255, 0, 0), decoded.GetPixel(1, 1));
        Assert.Equal(new SKColor(0, 255, 0), decoded.GetPixel(8, 1));
        Assert.Equal(new SKColor(0, 0, 255), decoded.GetPixel(1, 6));
        Assert.Equal(new SKColor(128, 128, 128), decoded.GetPixel(3, 12));
        Assert.Equal(SKColors.White, decoded.GetPixel(0, 0));    // padding
        Assert.Equal(SKColors.White, decoded.GetPixel(10, 12));  // the empty sixth cell
    }

    [Fact]
    public void ScaleEnlargesWithNearestNeighbour()
    {
        using var scope = NewDisposeScope();
        Tensor images = rand(2, 3, 2, 2, generator: new Generator(4));
        using SKBitmap plain = ImageGrid.ToBitmap(images, columns: 2, padding: 1);
        using SKBitmap big = ImageGrid.ToBitmap(images, columns: 2, padding: 1, scale: 3);
        Assert.Equal((plain.Width * 3, plain.Height * 3), (big.Width, big.Height));
        for (int y = 0; y < big.Height; y++)
        {
            for (int x = 0; x < big.Width; x++)
            {
                Assert.Equal(plain.GetPixel(x / 3, y / 3), big.GetPixel(x, y));
            }
        }
    }

    [Fact]
    public void BadShapesAreRejectedWithTheShape()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => ImageGrid.ToBitmap(zeros(2, 4, 8, 8)));
        Assert.Contains("images must be [N,3,H,W] with N >= 1; got [2,4,8,8]", e.Message, StringComparison.Ordinal);
        Assert.Contains("image must be [3,H,W]; got [1,8,8]", Assert.Throws<ArgumentException>(() => TensorImage.ToBitmap(zeros(1, 8, 8))).Message, StringComparison.Ordinal);
    }
}
