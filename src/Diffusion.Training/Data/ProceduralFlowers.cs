using SkiaSharp;

namespace Diffusion.Data;

/// <summary>
/// A built-in, seeded set of flower pictures drawn with SkiaSharp: eight species (petal shape and
/// count), seven named colours, sizes, positions, stems, leaves and three kinds of background, each
/// image captioned ("a red tulip") and labelled. Nothing is downloaded or read from disk.
/// </summary>
/// <remarks>
/// <para>
/// Item <c>i</c> is a pure function of (<see cref="ProceduralFlowersOptions.Seed"/>, <c>i</c>) and the
/// image size: its parameters come from <see cref="DeterministicRandom"/> keyed by both, so any item can
/// be read at any time, in any order, from any thread. Each image is drawn at
/// <see cref="ProceduralFlowersOptions.Supersampling"/>× the size and box-averaged down.
/// </para>
/// <para>
/// The parameters (and so captions and labels) are bit-identical everywhere. Pixels are identical for
/// a given SkiaSharp version on a given CPU family; Skia picks SIMD code paths at run time, which may
/// round antialiased edge pixels differently (by about 1/255) on other processors.
/// </para>
/// </remarks>
public sealed class ProceduralFlowers : IImageDataset
{
    private static readonly string[] ClassNameList =
        [.. FlowerCatalog.Combinations.Select(c => $"{FlowerCatalog.ColourNames[c.Colour]} {FlowerCatalog.SpeciesNames[c.Species]}")];

    /// <summary>Creates a dataset of <paramref name="count"/> flowers of <paramref name="imageSize"/>² pixels.</summary>
    /// <param name="count">Number of items (at least 1).</param>
    /// <param name="imageSize">Image side in pixels (8 to 1024).</param>
    /// <param name="seed">Dataset seed.</param>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public ProceduralFlowers(int count = 1024, int imageSize = 64, int seed = 0)
        : this(new ProceduralFlowersOptions { Count = count, ImageSize = imageSize, Seed = seed })
    {
    }

    /// <summary>Creates a dataset from options.</summary>
    /// <param name="options">The settings.</param>
    /// <exception cref="ArgumentException">A setting is out of range (all violations are listed).</exception>
    public ProceduralFlowers(ProceduralFlowersOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        LabelNames = options.Labels == FlowerLabels.Species ? SpeciesNames : ClassNames;
    }

    /// <summary>The species, in label order: tulip, daisy, aster, sunflower, rose, poppy, chrysanthemum, lily.</summary>
    public static IReadOnlyList<string> SpeciesNames { get; } = FlowerCatalog.SpeciesNames;

    /// <summary>The named colours: red, orange, yellow, pink, white, purple, blue.</summary>
    public static IReadOnlyList<string> ColourNames { get; } = FlowerCatalog.ColourNames;

    /// <summary>
    /// Every (colour, species) pair that occurs, as "colour species" (e.g. "red tulip"), in species order
    /// and then in each species' colour order: the label names under <see cref="FlowerLabels.SpeciesAndColour"/>
    /// and ready-made zero-shot classes for CLIP ("a photo of a " + name).
    /// </summary>
    public static IReadOnlyList<string> ClassNames { get; } = ClassNameList;

    /// <summary>The settings this dataset was made with.</summary>
    public ProceduralFlowersOptions Options { get; }

    /// <inheritdoc/>
    public int Count => Options.Count;

    /// <inheritdoc/>
    public int ImageSize => Options.ImageSize;

    /// <inheritdoc/>
    /// <remarks><see cref="SpeciesNames"/> or <see cref="ClassNames"/>, as <see cref="ProceduralFlowersOptions.Labels"/> says.</remarks>
    public IReadOnlyList<string> LabelNames { get; }

    /// <summary>The colours a species comes in.</summary>
    /// <param name="species">A name from <see cref="SpeciesNames"/>.</param>
    /// <returns>Colour names, a subset of <see cref="ColourNames"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="species"/> is not a known species.</exception>
    public static IReadOnlyList<string> ColoursOf(string species)
    {
        int s = Array.IndexOf(FlowerCatalog.SpeciesNames, species);
        if (s < 0)
        {
            throw new ArgumentException($"species must be one of {string.Join(", ", FlowerCatalog.SpeciesNames)}; got '{species}'.", nameof(species));
        }

        return [.. FlowerCatalog.ColoursBySpecies[s].Select(c => FlowerCatalog.ColourNames[c])];
    }

    /// <summary>Says what item <paramref name="index"/> shows, without drawing it (microseconds).</summary>
    /// <param name="index">0 to <see cref="Count"/> − 1.</param>
    /// <returns>Species, colour, caption and label.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside the dataset.</exception>
    public FlowerDescription Describe(int index)
    {
        CheckIndex(index);
        FlowerParameters p = FlowerParameters.Sample(Options.Seed, index);
        return Describe(p);
    }

    /// <inheritdoc/>
    /// <remarks>Thread-safe. The image is a new float32 [3, H, W] tensor on the CPU in [0, 1]; the caller disposes it.</remarks>
    public ImageItem GetItem(int index)
    {
        CheckIndex(index);
        FlowerParameters p = FlowerParameters.Sample(Options.Seed, index);
        int size = ImageSize;
        var pixels = new float[3 * size * size];
        Render(p, size, Options.Supersampling, pixels);
        FlowerDescription d = Describe(p);
        Tensor image = torch.tensor(pixels, [3, size, size]);
        return new ImageItem(image, d.Caption, d.Label);
    }

    /// <summary>Draws item <paramref name="index"/> into <paramref name="chw"/> (3 × size × size floats) without making a tensor.</summary>
    internal void RenderInto(int index, Span<float> chw)
    {
        CheckIndex(index);
        Render(FlowerParameters.Sample(Options.Seed, index), ImageSize, Options.Supersampling, chw);
    }

    private static void Render(FlowerParameters p, int size, int supersampling, Span<float> chw)
    {
        int side = size * supersampling;
        using var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Scale(side, side);
            FlowerPainter.Paint(canvas, p, antialias: supersampling < 4);
            canvas.Flush();
        }

        PixelConversion.BoxDownsample(bitmap.GetPixelSpan(), side, supersampling, chw);
    }

    private FlowerDescription Describe(FlowerParameters p)
    {
        int classIndex = FlowerCatalog.CombinationIndex(p.Species, p.Colour);
        return new FlowerDescription(
            FlowerCatalog.SpeciesNames[p.Species],
            FlowerCatalog.ColourNames[p.Colour],
            p.Species,
            p.Colour,
            classIndex,
            FlowerCatalog.Caption(p.Species, p.Colour),
            Options.Labels == FlowerLabels.Species ? p.Species : classIndex);
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be in [0, {Count - 1}]; got {index}.");
        }
    }
}
