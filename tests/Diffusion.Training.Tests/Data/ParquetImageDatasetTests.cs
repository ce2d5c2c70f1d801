using Diffusion.Data;
using Parquet;
using Parquet.Schema;
using SkiaSharp;

namespace Diffusion.Tests.Data;

/// <summary>
/// Parquet shards written here with Parquet.Net the way Hugging Face <c>datasets</c> lays out an image
/// dataset: <c>image: struct&lt;bytes: binary, path: string&gt;</c>, <c>label: int64</c>, the features in the
/// "huggingface" key-value metadata.
/// </summary>
public sealed class ParquetImageDatasetTests
{
    private const string Metadata = """{"info": {"features": {"image": {"_type": "Image"}, "label": {"names": ["daisy", "rose", "tulip"], "_type": "ClassLabel"}}}}""";

    [Fact]
    public async Task ReadsHuggingFaceShardsInOrder()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        byte[][] images = [.. Enumerable.Range(0, 7).Select(i => Png(10 + i, 12, tint: i))];
        string data = Path.Combine(temp.Path, "data");
        await WriteShardAsync(Path.Combine(data, "train-00001-of-00002.parquet"), images[5..], [2, -1], ["e", "f"], rowsPerGroup: 2, Metadata);
        await WriteShardAsync(Path.Combine(data, "train-00000-of-00002.parquet"), images[..5], [0, 1, 2, 0, 1], ["a", "b", null, "c", "d"], rowsPerGroup: 2, Metadata);

        var dataset = ParquetImageDataset.Open(temp.Path, 8, new ParquetImageOptions { CaptionColumn = "text" });
        Assert.Equal(7, dataset.Count);
        Assert.Equal(["daisy", "rose", "tulip"], dataset.LabelNames);
        Assert.EndsWith("train-00000-of-00002.parquet", dataset.Shards[0], StringComparison.Ordinal);
        int?[] expectedLabels = [0, 1, 2, 0, 1, 2, null];
        string?[] expectedCaptions = ["a", "b", null, "c", "d", "e", "f"];
        for (int i = 0; i < 7; i++)
        {
            using ImageItem item = dataset.GetItem(i);
            var expected = new float[3 * 8 * 8];
            ImageDecoder.Decode(images[i], 8, ImageDecoder.DefaultMaxPixels, "x", expected);
            Assert.Equal(expected, item.Image.data<float>().ToArray());
            Assert.Equal(expectedLabels[i], item.Label);
            Assert.Equal(expectedCaptions[i], item.Caption);
        }
    }

    [Fact]
    public async Task PlainBinaryColumnsAndNumericLabelNamesWork()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string file = Path.Combine(temp.Path, "plain.parquet");
        byte[][] images = [Png(8, 8, 1), Png(9, 9, 2), Png(16, 8, 3)];
        var bytes = new DataField<byte[]>("img");
        var label = new DataField<int>("cls");
        await WriteAsync(file, new ParquetSchema(bytes, label), async group =>
        {
            await group.WriteAsync(bytes, images);
            await group.WriteAsync<int>(label, new[] { 3, 0, 1 }.AsMemory());
        });

        var dataset = ParquetImageDataset.Open(file, 8, new ParquetImageOptions { ImageColumn = "img", LabelColumn = "cls", CacheBytes = 0 });
        Assert.Equal(["0", "1", "2", "3"], dataset.LabelNames);
        Assert.Equal(3, Label(dataset, 0));
        Assert.Equal(1, Label(dataset, 2));

        var noLabels = ParquetImageDataset.Open(file, 8, new ParquetImageOptions { ImageColumn = "img" });
        Assert.Empty(noLabels.LabelNames);
        Assert.Null(Label(noLabels, 1));
    }

    [Fact]
    public async Task ConcurrentReadsThroughASmallCacheAgree()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string file = Path.Combine(temp.Path, "s.parquet");
        byte[][] images = [.. Enumerable.Range(0, 24).Select(i => Png(12, 12, tint: i))];
        await WriteShardAsync(file, images, null, null, rowsPerGroup: 3, metadata: null);

        // A budget of about two row groups: row groups are read, dropped and read again.
        var dataset = ParquetImageDataset.Open(file, 8, new ParquetImageOptions { CacheBytes = images[0].Length * 5L });
        float[][] sequential = [.. Enumerable.Range(0, 24).Select(i => Pixels(dataset, i))];
        var parallel = new float[24][];
        Parallel.For(0, 96, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k => parallel[(k * 7) % 24] = Pixels(dataset, (k * 7) % 24));
        for (int i = 0; i < 24; i++)
        {
            Assert.Equal(sequential[i], parallel[i]);
        }
    }

    [Fact]
    public async Task BadFilesAndColumnsAreNamed()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string notParquet = Path.Combine(temp.Path, "bad.parquet");
        File.WriteAllText(notParquet, "this is not parquet at all");
        var e = Assert.Throws<InvalidDataException>(() => ParquetImageDataset.Open(notParquet, 8));
        Assert.Contains($"parquet file '{notParquet}'", e.Message, StringComparison.Ordinal);

        string file = Path.Combine(temp.Path, "good.parquet");
        await WriteShardAsync(file, [Png(8, 8, 0)], [0], null, rowsPerGroup: 1, metadata: null);
        e = Assert.Throws<InvalidDataException>(() => ParquetImageDataset.Open(file, 8, new ParquetImageOptions { ImageColumn = "picture" }));
        Assert.Equal($"Parquet file '{file}' has no image column 'picture' (a struct with a binary 'bytes' field, or a binary column); columns: image, label, text.", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ParquetImageDataset.Open(file, 8, new ParquetImageOptions { CaptionColumn = "caption" }));
        Assert.Contains("has no string column 'caption'", e.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => ParquetImageDataset.Open(Path.Combine(temp.Path, "none"), 8));
        string empty = Path.Combine(temp.Path, "empty");
        Directory.CreateDirectory(empty);
        Assert.Throws<InvalidDataException>(() => ParquetImageDataset.Open(empty, 8));
    }

    [Fact]
    public async Task CorruptImageBytesNameShardRowAndPath()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string file = Path.Combine(temp.Path, "c.parquet");
        byte[] good = Png(8, 8, 0);
        await WriteShardAsync(file, [good, good[..20], [], "nope"u8.ToArray()], null, null, rowsPerGroup: 2, metadata: null);
        var dataset = ParquetImageDataset.Open(file, 8);
        using (dataset.GetItem(0))
        {
        }

        for (int row = 1; row < 4; row++)
        {
            var e = Assert.Throws<InvalidDataException>(() => dataset.GetItem(row));
            Assert.Contains($"'{file} row {row} (img{row}.png)'", e.Message, StringComparison.Ordinal);
        }
    }

    private static byte[] Png(int width, int height, int tint)
    {
        using SKBitmap bitmap = TestImages.Pattern(width, height, tint);
        return TestImages.Encode(bitmap, SKEncodedImageFormat.Png);
    }

    private static Task WriteShardAsync(string path, byte[][] images, long?[]? labels, string?[]? texts, int rowsPerGroup, string? metadata)
    {
        var bytes = new DataField<byte[]>("bytes", nullable: true);
        var paths = new DataField<string>("path", nullable: true);
        var label = new DataField<long?>("label");
        var text = new DataField<string>("text", nullable: true);
        var schema = new ParquetSchema(new StructField("image", bytes, paths), label, text);
        labels ??= new long?[images.Length];
        texts ??= new string?[images.Length];
        return WriteAsync(path, schema, metadata, rowsPerGroup, images.Length, async (group, start, count) =>
        {
            await group.WriteAsync(bytes, images[start..(start + count)]);
            await group.WriteAsync(paths, [.. Enumerable.Range(start, count).Select(i => $"img{i}.png")]);
            await group.WriteAsync<long>(label, labels[start..(start + count)].AsMemory());
            await group.WriteAsync(text, texts[start..(start + count)]!);
        });
    }

    private static Task WriteAsync(string path, ParquetSchema schema, Func<ParquetRowGroupWriter, Task> write) =>
        WriteAsync(path, schema, null, 1, 1, (group, _, _) => write(group));

    private static async Task WriteAsync(string path, ParquetSchema schema, string? metadata, int rowsPerGroup, int rows, Func<ParquetRowGroupWriter, int, int, Task> write)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using FileStream stream = File.Create(path);
        await using ParquetWriter writer = await ParquetWriter.CreateAsync(schema, stream);
        if (metadata is not null)
        {
            writer.CustomMetadata = new Dictionary<string, string> { ["huggingface"] = metadata };
        }

        for (int start = 0; start < rows; start += rowsPerGroup)
        {
            using ParquetRowGroupWriter group = writer.CreateRowGroup();
            await write(group, start, Math.Min(rowsPerGroup, rows - start));
        }
    }

    private static float[] Pixels(ParquetImageDataset dataset, int index)
    {
        using ImageItem item = dataset.GetItem(index);
        return item.Image.data<float>().ToArray();
    }

    private static int? Label(ParquetImageDataset dataset, int index)
    {
        using ImageItem item = dataset.GetItem(index);
        return item.Label;
    }
}
