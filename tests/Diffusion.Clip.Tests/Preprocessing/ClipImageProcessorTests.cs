using Diffusion.IO;
using System.Text.Json;
using Diffusion.Clip;
using SkiaSharp;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Diffusion.Tests.Preprocessing;

public sealed class ClipImageProcessorTests(ITestOutputHelper output)
{
    [Fact]
    public void MatchesTheReferenceResizeCropAndNormalisation()
    {
        // tools/reference/clip_parity.py: transformers' CLIPImageProcessor steps in float (torch 1.13 bicubic
        // with antialias). Same libtorch kernel family here, so only float rounding differs: 1e-5.
        JsonElement reference = ReferenceJson.Read("clip", "preprocess.json");
        var processor = new ClipImageProcessor(new ClipImageProcessorOptions
        {
            ShortestEdge = reference.GetProperty("shortest_edge").GetInt32(),
            CropSize = reference.GetProperty("crop_size").GetInt32(),
        });
        using var scope = NewDisposeScope();
        Tensor image = ReferenceJson.Tensor(reference.GetProperty("image"));
        Tensor expected = ReferenceJson.Tensor(reference.GetProperty("expected"));
        Tensor actual = processor.Preprocess(image);
        Assert.Equal(expected.shape, actual.shape);
        (double maxAbs, double excess) = ReferenceJson.Compare(actual, expected, 1e-5, 1e-5);
        output.WriteLine($"preprocess: max |error| = {maxAbs:E2}");
        Assert.True(excess <= 0, $"max |error| {maxAbs:E3}");

        Tensor batched = processor.Preprocess(image.unsqueeze(0));
        Assert.Equal([1L, 3L, 12L, 12L], batched.shape);
    }

    [Fact]
    public void BitmapsBecomeRgbInZeroToOneAndAreNormalisedPerChannel()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(6, 4, SKColorType.Bgra8888, SKAlphaType.Premul));
        bitmap.Erase(new SKColor(255, 128, 0));
        bitmap.SetPixel(0, 0, new SKColor(10, 20, 30));
        using var scope = NewDisposeScope();
        Tensor pixels = TensorImage.FromBitmap(bitmap);
        Assert.Equal([3L, 4L, 6L], pixels.shape);
        Assert.Equal([10 / 255f, 20 / 255f, 30 / 255f], pixels[.., 0, 0].data<float>().ToArray());
        Assert.Equal([1f, 128 / 255f, 0f], pixels[.., 3, 5].data<float>().ToArray());

        // A plain colour stays plain through resize and crop; then (c - mean) / std per channel.
        using var plain = new SKBitmap(new SKImageInfo(30, 50));
        plain.Erase(new SKColor(255, 128, 0));
        var options = new ClipImageProcessorOptions { ShortestEdge = 8, CropSize = 8 };
        Tensor input = new ClipImageProcessor(options).Preprocess(plain);
        Assert.Equal([3L, 8L, 8L], input.shape);
        float[] rgb = [1f, 128 / 255f, 0f];
        for (int c = 0; c < 3; c++)
        {
            float expected = (rgb[c] - options.ImageMean[c]) / options.ImageStd[c];
            Assert.True(input[c].sub(expected).abs().max().item<float>() < 1e-5, $"channel {c}");
        }
    }

    [Fact]
    public void ReadsFilesAndNamesThoseItCannotDecode()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string png = Path.Combine(dir.Path, "red.png");
        using (var bitmap = new SKBitmap(new SKImageInfo(10, 10)))
        {
            bitmap.Erase(SKColors.Red);
            using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(png, data.ToArray());
        }

        var processor = new ClipImageProcessor(ClipImageProcessorOptions.ForImageSize(4));
        using (Tensor t = processor.Preprocess(png))
        {
            Assert.Equal([3L, 4L, 4L], t.shape);
        }

        string broken = Path.Combine(dir.Path, "broken.png");
        File.WriteAllText(broken, "not an image");
        var e = Assert.Throws<InvalidDataException>(() => processor.Preprocess(broken));
        Assert.StartsWith(broken, e.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => processor.Preprocess(Path.Combine(dir.Path, "missing.png")));
    }

    [Fact]
    public void RejectsWrongShapesAndOptions()
    {
        var processor = new ClipImageProcessor(ClipImageProcessorOptions.ForImageSize(8));
        using Tensor gray = zeros(1, 8, 8);
        var e = Assert.Throws<ArgumentException>(() => processor.Preprocess(gray));
        Assert.Contains("got [1,8,8] Float32", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => new ClipImageProcessor(new ClipImageProcessorOptions { ShortestEdge = 8, CropSize = 9, ImageStd = [1f, 0f, 1f] }));
        Assert.Contains("CropSize must be in 1..ShortestEdge (8); got 9", e.Message, StringComparison.Ordinal);
        Assert.Contains("ImageStd must hold 3 positive values", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PreprocessorConfigRoundTrips()
    {
        var options = new ClipImageProcessorOptions { ShortestEdge = 40, CropSize = 32, ImageMean = [0.5f, 0.5f, 0.5f] };
        ClipImageProcessorOptions reread = ClipImageProcessorOptions.FromJson(options.ToJson(), new ClipImageProcessorOptions());
        Assert.Equal(40, reread.ShortestEdge);
        Assert.Equal(32, reread.CropSize);
        Assert.Equal(options.ImageMean, reread.ImageMean);
        Assert.Equal(options.ImageStd, reread.ImageStd);
        // Older processors wrote plain integers.
        Assert.Equal(224, ClipImageProcessorOptions.FromJson("""{"size": 224, "crop_size": 224}""", new ClipImageProcessorOptions()).CropSize);
    }
}
