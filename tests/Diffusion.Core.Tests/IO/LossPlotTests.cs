using Diffusion.IO;
using SkiaSharp;

namespace Diffusion.Tests.IO;

public sealed class LossPlotTests(Xunit.Abstractions.ITestOutputHelper output)
{
    // A loss curve like a training run's: a fast fall, then noise around a slow decline, and one NaN.
    private static readonly float[] Losses = [.. Enumerable.Range(0, 600).Select(i =>
        i == 300 ? float.NaN : (float)(0.08 + (0.9 * Math.Exp(-i / 25.0)) + (0.01 * Math.Sin(i * 12.9898) * Math.Sin(i * 78.233))))];

    [Fact]
    public void TextComesFromTheEmbeddedFontNotFromTheSystem()
    {
        // SkiaSharp's NoDependencies native library never asks fontconfig, so system fonts are invisible to it even
        // where they are installed: the embedded typeface is the only way text appears, on any machine.
        output.WriteLine($"system font families SkiaSharp sees: {SKFontManager.Default.FontFamilyCount}");
        Assert.Equal("DejaVu Sans", PlotFont.Typeface.FamilyName);
        using var font = new SKFont(PlotFont.Typeface, 14);
        Assert.True(font.MeasureText("step 0.123") > 40, "the embedded font measures no glyphs");
        Assert.All("0123456789.,-step loss", c => Assert.NotEqual(0, font.GetGlyph(c)));
    }

    [Fact]
    public void TitleLabelsAndTickNumbersAreDrawn()
    {
        var options = new LossPlotOptions { Width = 960, Height = 540, FirstStep = 589 };
        using SKBitmap withText = LossPlot.Render(Losses, options);
        using SKBitmap withoutText = LossPlot.Render(Losses, options with { Title = string.Empty, XLabel = string.Empty, YLabel = string.Empty });

        // Regions from the layout at 960×540 (scale 1): a 12 px margin, the 20 px title above the plot, the
        // 16 px axis labels at the left and bottom edges, the 14 px tick numbers beside the axes.
        var title = SKRectI.Create(330, 0, 300, 40);
        var xLabel = SKRectI.Create(380, 510, 200, 30);
        var yLabel = SKRectI.Create(0, 170, 32, 200);
        var yTickNumbers = SKRectI.Create(32, 40, 40, 420);
        Assert.True(Ink(withText, title) > 40, $"title: {Ink(withText, title)} dark pixels");
        Assert.True(Ink(withText, xLabel) > 15, $"x label: {Ink(withText, xLabel)} dark pixels");
        Assert.True(Ink(withText, yLabel) > 15, $"y label: {Ink(withText, yLabel)} dark pixels");
        Assert.True(Ink(withText, yTickNumbers) > 60, $"y tick numbers: {Ink(withText, yTickNumbers)} dark pixels");
        Assert.Equal(0, Ink(withoutText, title));
        Assert.Equal(0, Ink(withoutText, xLabel));
        Assert.Equal(0, Ink(withoutText, yLabel));
    }

    [Fact]
    public void SavesAPngOfTheAskedSizeAndDrawsEmptyHistories()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string path = Path.Combine(dir.Path, "plots", "loss.png");

        LossPlot.Save(Losses, path, new LossPlotOptions { Width = 640, Height = 360 });
        using SKBitmap read = SKBitmap.Decode(path);
        using SKBitmap empty = LossPlot.Render([]);
        using SKBitmap single = LossPlot.Render([0.5f]);

        Assert.Equal((640, 360), (read.Width, read.Height));
        Assert.True(Ink(empty, SKRectI.Create(380, 240, 200, 60)) > 20, "an empty history says so in the middle");
        Assert.Equal((960, 540), (single.Width, single.Height));
    }

    [Fact]
    public void OptionsValidationListsEveryViolation()
    {
        var e = Assert.Throws<ArgumentException>(() => LossPlot.Render(Losses, new LossPlotOptions { Width = 10, FirstStep = -1, SmoothingWindow = 0 }));
        Assert.Contains("Width must be in [240, 8192]; got 10", e.Message, StringComparison.Ordinal);
        Assert.Contains("FirstStep must be 0 or more; got -1", e.Message, StringComparison.Ordinal);
        Assert.Contains("SmoothingWindow must be at least 1 or null; got 0", e.Message, StringComparison.Ordinal);
    }

    // Pixels clearly darker than the grid lines (225) and the faint raw curve: text, axes and tick marks.
    private static int Ink(SKBitmap bitmap, SKRectI region)
    {
        int count = 0;
        for (int y = region.Top; y < region.Bottom; y++)
        {
            for (int x = region.Left; x < region.Right; x++)
            {
                SKColor c = bitmap.GetPixel(x, y);
                count += c.Red < 110 && c.Green < 110 && c.Blue < 110 ? 1 : 0;
            }
        }

        return count;
    }
}
