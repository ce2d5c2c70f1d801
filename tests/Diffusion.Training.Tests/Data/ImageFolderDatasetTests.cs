using Diffusion.Data;
using Microsoft.Extensions.Logging;
using SkiaSharp;

namespace Diffusion.Tests.Data;

public sealed class ImageFolderDatasetTests
{
    [Fact]
    public void FindsImagesRecursivelyInOrdinalOrder()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string root = temp.Path;
        TestImages.Write(Path.Combine(root, "b", "2.png"), 20, 10, SKEncodedImageFormat.Png, tint: 1);
        TestImages.Write(Path.Combine(root, "a", "sub", "3.webp"), 12, 12, SKEncodedImageFormat.Webp, tint: 2);
        TestImages.Write(Path.Combine(root, "a", "1.JPG"), 30, 40, SKEncodedImageFormat.Jpeg, tint: 3);
        TestImages.Write(Path.Combine(root, "Z.png"), 8, 8, SKEncodedImageFormat.Png);
        TestImages.Write(Path.Combine(root, ".hidden", "x.png"), 8, 8, SKEncodedImageFormat.Png);
        TestImages.Write(Path.Combine(root, "b", ".x.png"), 8, 8, SKEncodedImageFormat.Png);
        File.WriteAllText(Path.Combine(root, "notes.md"), "not an image");

        var dataset = ImageFolderDataset.Open(root, 8);
        Assert.Equal(["Z.png", "a/1.JPG", "a/sub/3.webp", "b/2.png"], dataset.Files);
        Assert.Equal(4, dataset.Count);
        Assert.Empty(dataset.LabelNames);
        for (int i = 0; i < dataset.Count; i++)
        {
            using ImageItem item = dataset.GetItem(i);
            Assert.Equal([3L, 8, 8], item.Image.shape);
            Assert.Null(item.Caption);
            Assert.Null(item.Label);
        }
    }

    [Fact]
    public void PixelsEqualTheDecoderOnTheSameFile()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string file = Path.Combine(temp.Path, "wide.png");
        TestImages.Write(file, 50, 30, SKEncodedImageFormat.Png, tint: 9);
        var dataset = ImageFolderDataset.Open(temp.Path, 16);
        using ImageItem item = dataset.GetItem(0);
        var expected = new float[3 * 16 * 16];
        ImageDecoder.Decode(File.ReadAllBytes(file), 16, ImageDecoder.DefaultMaxPixels, file, expected);
        Assert.Equal(expected, item.Image.data<float>().ToArray());
    }

    [Fact]
    public void CaptionsComeFromTheTableThenFromSidecars()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string root = temp.Path;
        foreach (string name in new[] { "a.png", "b.png", "c.png", "d/e.png" })
        {
            TestImages.Write(Path.Combine(root, name), 8, 8, SKEncodedImageFormat.Png);
        }

        File.WriteAllText(Path.Combine(root, "captions.tsv"), "# path\tcaption\n\na.png\ta red tulip\n./d\\e.png\t  a white daisy \nmissing.png\tnobody\n");
        File.WriteAllText(Path.Combine(root, "b.txt"), "a yellow sunflower\n");
        File.WriteAllText(Path.Combine(root, "a.txt"), "ignored: the table wins");
        var logs = new CapturingLoggerFactory();
        var dataset = ImageFolderDataset.Open(root, 8, new ImageFolderOptions { LoggerFactory = logs });
        string?[] captions = [.. Enumerable.Range(0, 4).Select(i => Caption(dataset, i))];
        Assert.Equal(new string?[] { "a red tulip", "a yellow sunflower", null, "a white daisy" }, captions.AsEnumerable());
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Warning && m.Message.Contains("1 caption lines name no image", StringComparison.Ordinal) && m.Message.Contains("missing.png", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Message.Contains("4 images, 0 labels, 3 captions", StringComparison.Ordinal));

        var noSidecars = ImageFolderDataset.Open(root, 8, new ImageFolderOptions { CaptionSidecars = false, CaptionsFile = null });
        Assert.All(Enumerable.Range(0, 4), i => Assert.Null(Caption(noSidecars, i)));
    }

    [Fact]
    public void MalformedCaptionTablesNameFileAndLine()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        TestImages.Write(Path.Combine(temp.Path, "a.png"), 8, 8, SKEncodedImageFormat.Png);
        string table = Path.Combine(temp.Path, "captions.tsv");
        File.WriteAllText(table, "a.png\tok\nno tab here\n");
        var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Open(temp.Path, 8));
        Assert.Equal($"Caption table '{table}' line 2 has no tab; expected 'relative/path<TAB>caption'.", e.Message);
        File.WriteAllText(table, "a.png\tone\na.png\ttwo\n");
        e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Open(temp.Path, 8));
        Assert.Contains("line 2 lists 'a.png' a second time", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LabelsComeFromSortedSubFolderNames()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        TestImages.Write(Path.Combine(temp.Path, "tulip", "1.png"), 8, 8, SKEncodedImageFormat.Png);
        TestImages.Write(Path.Combine(temp.Path, "daisy", "x", "2.png"), 8, 8, SKEncodedImageFormat.Png);
        TestImages.Write(Path.Combine(temp.Path, "daisy", "3.png"), 8, 8, SKEncodedImageFormat.Png);
        var dataset = ImageFolderDataset.Open(temp.Path, 8, new ImageFolderOptions { LabelsFromFolders = true });
        Assert.Equal(["daisy", "tulip"], dataset.LabelNames);
        Assert.Equal(["daisy/3.png", "daisy/x/2.png", "tulip/1.png"], dataset.Files);
        int?[] labels = [.. Enumerable.Range(0, 3).Select(i => Label(dataset, i))];
        Assert.Equal([0, 0, 1], labels);

        TestImages.Write(Path.Combine(temp.Path, "loose.png"), 8, 8, SKEncodedImageFormat.Png);
        var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Open(temp.Path, 8, new ImageFolderOptions { LabelsFromFolders = true }));
        Assert.Contains("1 are in the folder itself, e.g. 'loose.png'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyOrMissingFoldersAndBadSizesAreRefused()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        File.WriteAllText(Path.Combine(temp.Path, "readme.txt"), "no pictures");
        var e = Assert.Throws<InvalidDataException>(() => ImageFolderDataset.Open(temp.Path, 8));
        Assert.Contains("holds no images", e.Message, StringComparison.Ordinal);
        Assert.Throws<DirectoryNotFoundException>(() => ImageFolderDataset.Open(Path.Combine(temp.Path, "nope"), 8));
        var size = Assert.Throws<ArgumentOutOfRangeException>(() => ImageFolderDataset.Open(temp.Path, 4));
        Assert.Contains("imageSize must be in [8, 4096]; got 4", size.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CorruptFilesGiveInvalidDataExceptionWithThePath()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string good = Path.Combine(temp.Path, "a.png");
        TestImages.Write(good, 16, 16, SKEncodedImageFormat.Png);
        byte[] png = File.ReadAllBytes(good);
        File.WriteAllBytes(Path.Combine(temp.Path, "b-empty.png"), []);
        File.WriteAllBytes(Path.Combine(temp.Path, "c-truncated.png"), png[..(png.Length / 2)]);
        File.WriteAllText(Path.Combine(temp.Path, "d-text.jpg"), "hello");
        var dataset = ImageFolderDataset.Open(temp.Path, 8);
        using (dataset.GetItem(0))
        {
        }

        for (int i = 1; i < 4; i++)
        {
            var e = Assert.Throws<InvalidDataException>(() => dataset.GetItem(i));
            Assert.Contains(Path.Combine(temp.Path, dataset.Files[i]), e.Message, StringComparison.Ordinal);
        }

        File.Delete(Path.Combine(temp.Path, "b-empty.png"));
        var gone = Assert.Throws<InvalidDataException>(() => dataset.GetItem(1));
        Assert.Contains("cannot be read", gone.Message, StringComparison.Ordinal);
    }

    private static string? Caption(ImageFolderDataset dataset, int index)
    {
        using ImageItem item = dataset.GetItem(index);
        return item.Caption;
    }

    private static int? Label(ImageFolderDataset dataset, int index)
    {
        using ImageItem item = dataset.GetItem(index);
        return item.Label;
    }
}
