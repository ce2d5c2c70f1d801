using Diffusion.Data;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Data;

public sealed class ProceduralFlowersTests
{
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
}
