using SkiaSharp;

namespace Diffusion.IO;

/// <summary>
/// The typeface plots draw text with: DejaVu Sans (an ASCII-and-a-few-symbols subset made by
/// tools/fonts/subset-dejavu.sh; Bitstream Vera licence, IO/Fonts/DejaVu-LICENSE.txt), embedded in this
/// assembly so that text appears on machines without fonts. Loaded once and kept for the process.
/// </summary>
internal static class PlotFont
{
    public const string ResourceName = "Diffusion.IO.Fonts.DejaVuSans-Plot.ttf";

    private static readonly Lazy<SKTypeface> Embedded = new(Load);

    public static SKTypeface Typeface => Embedded.Value;

    private static SKTypeface Load()
    {
        using Stream stream = typeof(PlotFont).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded font resource '{ResourceName}' is missing from {typeof(PlotFont).Assembly.GetName().Name}.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        using SKData data = SKData.CreateCopy(memory.ToArray());
        return SKTypeface.FromData(data)
            ?? throw new InvalidOperationException($"SkiaSharp could not read the embedded font '{ResourceName}'.");
    }
}
