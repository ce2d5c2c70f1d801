using Diffusion.Data;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Data;

public sealed class ProceduralFlowersTests
{
    [Fact]
    public void SameSeedGivesIdenticalImagesAndOtherSeedsDiffer()
    {
        var a = new ProceduralFlowers(count: 16, imageSize: 32, seed: 5);
        var b = new ProceduralFlowers(count: 16, imageSize: 32, seed: 5);
        var c = new ProceduralFlowers(count: 16, imageSize: 32, seed: 6);
        int differing = 0;
        for (int i = 0; i < 16; i++)
        {
            using ImageItem x = a.GetItem(i);
            using ImageItem y = b.GetItem(i);
            using ImageItem z = c.GetItem(i);
            Assert.True(x.Image.equal(y.Image).all().item<bool>(), $"item {i} differs between two datasets with seed 5");
            Assert.Equal(x.Caption, y.Caption);
            differing += x.Image.equal(z.Image).all().item<bool>() ? 0 : 1;
        }

        Assert.Equal(16, differing);
    }

    [Fact]
    public void ItemsAreIndependentOfReadingOrderAndThreads()
    {
        var flowers = new ProceduralFlowers(count: 40, imageSize: 16, seed: 2);
        float[][] forward = [.. Enumerable.Range(0, 40).Select(i => Pixels(flowers, i))];
        var parallel = new float[40][];
        Parallel.For(0, 40, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => parallel[39 - i] = Pixels(flowers, 39 - i));
        for (int i = 0; i < 40; i++)
        {
            Assert.Equal(forward[i], parallel[i]);
        }

        // A larger dataset with the same seed has the same first items.
        var larger = new ProceduralFlowers(count: 1000, imageSize: 16, seed: 2);
        Assert.Equal(forward[7], Pixels(larger, 7));
    }

    [Fact]
    public void ImagesAreFloat3xSxSInUnitRange()
    {
        var flowers = new ProceduralFlowers(count: 4, imageSize: 24, seed: 0);
        using ImageItem item = flowers.GetItem(3);
        Assert.Equal(ScalarType.Float32, item.Image.dtype);
        Assert.Equal([3L, 24, 24], item.Image.shape);
        Assert.True(item.Image.min().item<float>() >= 0f);
        Assert.True(item.Image.max().item<float>() <= 1f);
        Assert.True(item.Image.std().item<float>() > 0.05f, "a flower picture is not flat");
    }

    [Fact]
    public void CaptionsAndLabelsAgreeWithDescriptions()
    {
        var bySpecies = new ProceduralFlowers(count: 64, imageSize: 8, seed: 3);
        var byClass = new ProceduralFlowers(new ProceduralFlowersOptions { Count = 64, ImageSize = 8, Seed = 3, Labels = FlowerLabels.SpeciesAndColour });
        Assert.Equal(ProceduralFlowers.SpeciesNames, bySpecies.LabelNames);
        Assert.Equal(ProceduralFlowers.ClassNames, byClass.LabelNames);
        for (int i = 0; i < 64; i++)
        {
            FlowerDescription d = bySpecies.Describe(i);
            using ImageItem item = bySpecies.GetItem(i);
            using ImageItem classItem = byClass.GetItem(i);
            string article = "aeiou".Contains(d.Colour[0], StringComparison.Ordinal) ? "an" : "a";
            Assert.Equal($"{article} {d.Colour} {d.Species}", item.Caption);
            Assert.Equal(d.Caption, item.Caption);
            Assert.Equal(d.SpeciesIndex, item.Label);
            Assert.Equal(d.Species, ProceduralFlowers.SpeciesNames[d.SpeciesIndex]);
            Assert.Equal(d.Colour, ProceduralFlowers.ColourNames[d.ColourIndex]);
            Assert.Contains(d.Colour, ProceduralFlowers.ColoursOf(d.Species));
            Assert.Equal($"{d.Colour} {d.Species}", ProceduralFlowers.ClassNames[classItem.Label!.Value]);
            Assert.Equal(d.ClassIndex, classItem.Label);
        }
    }

    [Fact]
    public void EverySpeciesAndColourAppears()
    {
        var flowers = new ProceduralFlowers(count: 800, imageSize: 8, seed: 0);
        FlowerDescription[] all = [.. Enumerable.Range(0, 800).Select(flowers.Describe)];
        foreach (string species in ProceduralFlowers.SpeciesNames)
        {
            // 800 items over 8 species: 100 expected each; 60 is more than 4 standard deviations below.
            Assert.InRange(all.Count(d => d.Species == species), 60, 140);
        }

        Assert.Equal(ProceduralFlowers.ColourNames.Order(), all.Select(d => d.Colour).Distinct().Order());
        Assert.Equal(37, ProceduralFlowers.ClassNames.Count);
        Assert.True(all.Select(d => d.ClassIndex).Distinct().Count() >= 35, "nearly every species × colour pair shows up in 800 items");
    }

    [Fact]
    public void InvalidOptionsListEveryViolation()
    {
        var e = Assert.Throws<ArgumentException>(() => new ProceduralFlowers(new ProceduralFlowersOptions { Count = 0, ImageSize = 4, Supersampling = 9 }));
        Assert.Equal(
            string.Join(Environment.NewLine + " - ", "ProceduralFlowersOptions is invalid:", "Count must be at least 1; got 0", "ImageSize must be in [8, 1024]; got 4",
                "Supersampling must be in [1, 8]; got 9 (Parameter 'options')"),
            e.Message);
        var flowers = new ProceduralFlowers(count: 3, imageSize: 8);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => flowers.GetItem(3));
        Assert.Contains("index must be in [0, 2]; got 3", range.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ProceduralFlowers.ColoursOf("cactus"));
    }

    [Fact]
    public void GridOf64ItemsDecodes()
    {
        var flowers = new ProceduralFlowers(count: 64, imageSize: 32, seed: 0);
        var images = new List<Tensor>();
        try
        {
            for (int i = 0; i < 64; i++)
            {
                images.Add(flowers.GetItem(i).Image);
            }

            using TempDirectory temp = TestEnvironment.CreateTempDirectory();
            string path = Path.Combine(temp.Path, "flowers.png");
            TestImages.WriteGrid(path, images, columns: 8);

            // Set DIFFUSION_FLOWER_GRID=/some/file.png to keep a 4× enlarged copy to look at.
            string? keep = Environment.GetEnvironmentVariable("DIFFUSION_FLOWER_GRID");
            if (!string.IsNullOrEmpty(keep))
            {
                TestImages.WriteGrid(keep, images, columns: 8, zoom: 4);
            }

            using var decoded = SKBitmap.Decode(path);
            Assert.Equal(8 * 34, decoded.Width);
            Assert.Equal(8 * 34, decoded.Height);
        }
        finally
        {
            images.ForEach(t => t.Dispose());
        }
    }

    private static float[] Pixels(ProceduralFlowers flowers, int index)
    {
        using ImageItem item = flowers.GetItem(index);
        return item.Image.data<float>().ToArray();
    }
}
