using SkiaSharp;

namespace Diffusion.Data;

/// <summary>Background styles of <see cref="ProceduralFlowers"/>.</summary>
internal enum FlowerBackground
{
    Plain,
    Gradient,
    Horizon,
}

/// <summary>One leaf on the stem: where (0 = head, 1 = ground), which side, angle and size.</summary>
internal readonly record struct LeafParameters(double StemPosition, int Side, double Angle, double Length, double Width, SKColor Colour);

/// <summary>
/// Everything that varies between two procedural flowers, drawn from the item's own stream so that
/// item <c>i</c> never depends on any other item. All lengths are fractions of the image side.
/// </summary>
/// <remarks>The order of the draws in <see cref="Sample"/> defines the dataset: reordering them changes every image.</remarks>
internal sealed record FlowerParameters
{
    public required int Species { get; init; }
    public required int Colour { get; init; }
    public required SKColor Petal { get; init; }
    public required double HeadX { get; init; }
    public required double HeadY { get; init; }
    public required double Radius { get; init; }
    public required double Rotation { get; init; }
    public required double Squash { get; init; }
    public required int PetalCount { get; init; }
    public required double StemEndX { get; init; }
    public required double StemBend { get; init; }
    public required double StemWidth { get; init; }
    public required SKColor StemColour { get; init; }
    public required LeafParameters[] Leaves { get; init; }
    public required FlowerBackground Background { get; init; }
    public required SKColor BackgroundTop { get; init; }
    public required SKColor BackgroundBottom { get; init; }
    public required double HorizonY { get; init; }
    public required SKColor GroundTop { get; init; }
    public required SKColor GroundBottom { get; init; }

    /// <summary>Seed of a second stream for per-petal jitter, so petal counts don't shift the other draws.</summary>
    public required ulong DetailSeed { get; init; }

    /// <summary>Draws the parameters of item <paramref name="index"/> of the dataset with <paramref name="seed"/>.</summary>
    public static FlowerParameters Sample(long seed, int index)
    {
        // Stream tag 0x666C6F77 ("flow") keeps these draws apart from the loader's streams.
        var rng = DeterministicRandom.FromKeys(0x666C6F77, seed, index);
        int species = rng.NextInt(FlowerCatalog.SpeciesNames.Length);
        int[] colours = FlowerCatalog.ColoursBySpecies[species];
        int colour = colours[rng.NextInt(colours.Length)];
        var (h, s, v, dh, ds, dv) = FlowerCatalog.Palette[colour];
        SKColor petal = Hsv(
            h + rng.NextDouble(-dh, dh),
            Math.Clamp(s + rng.NextDouble(-ds, ds), 0, 1),
            Math.Clamp(v + rng.NextDouble(-dv, dv), 0, 1));

        double radius = rng.NextDouble(0.15, 0.27);
        if (species == FlowerCatalog.Lily)
        {
            radius *= 1.15; // six thin petals cover less than a disc: draw them a little larger
        }

        double margin = radius + 0.03;
        double headX = rng.NextDouble(Math.Max(margin, 0.32), Math.Min(1 - margin, 0.68));
        double headY = rng.NextDouble(Math.Max(margin, 0.28), 0.5);
        double rotation = rng.NextDouble(0, 2 * Math.PI);
        double squash = rng.NextDouble(0.82, 1.0);
        int petalCount = species switch
        {
            FlowerCatalog.Daisy => rng.NextInt(13, 22),
            FlowerCatalog.Aster => rng.NextInt(22, 34),
            FlowerCatalog.Sunflower => rng.NextInt(18, 27),
            FlowerCatalog.Rose => rng.NextInt(5, 7),
            FlowerCatalog.Poppy => rng.NextInt(4, 6),
            FlowerCatalog.Chrysanthemum => rng.NextInt(20, 30),
            FlowerCatalog.Lily => 6,
            _ => 3,
        };

        double stemEndX = headX + rng.NextDouble(-0.12, 0.12);
        double stemBend = rng.NextDouble(-0.08, 0.08);
        double stemWidth = rng.NextDouble(0.022, 0.036);
        SKColor stem = Hsv(rng.NextDouble(95, 140), rng.NextDouble(0.45, 0.75), rng.NextDouble(0.38, 0.62));

        int leafCount = species == FlowerCatalog.Tulip ? rng.NextInt(1, 3) : rng.NextInt(0, 3);
        var leaves = new LeafParameters[leafCount];
        int firstSide = rng.NextBool() ? 1 : -1;
        for (int i = 0; i < leafCount; i++)
        {
            bool tulipLeaf = species == FlowerCatalog.Tulip;
            leaves[i] = new LeafParameters(
                StemPosition: tulipLeaf ? rng.NextDouble(0.6, 0.9) : rng.NextDouble(0.35, 0.85),
                Side: i == 0 ? firstSide : -firstSide,
                Angle: tulipLeaf ? rng.NextDouble(45, 70) : rng.NextDouble(15, 55),
                Length: tulipLeaf ? rng.NextDouble(0.22, 0.32) : rng.NextDouble(0.11, 0.2),
                Width: rng.NextDouble(0.25, 0.4),
                Colour: Hsv(rng.NextDouble(95, 140), rng.NextDouble(0.45, 0.75), rng.NextDouble(0.4, 0.7)));
        }

        var background = (FlowerBackground)rng.NextInt(3);
        SKColor top = BackgroundColour(rng);
        SKColor bottom = BackgroundColour(rng, near: top, rng.NextDouble());
        double horizonY = rng.NextDouble(0.78, 0.93);
        SKColor groundTop = Hsv(rng.NextDouble(75, 135), rng.NextDouble(0.35, 0.65), rng.NextDouble(0.3, 0.6));
        SKColor groundBottom = Shade(groundTop, rng.NextDouble(0.7, 1.0));

        return new FlowerParameters
        {
            Species = species,
            Colour = colour,
            Petal = petal,
            HeadX = headX,
            HeadY = headY,
            Radius = radius,
            Rotation = rotation,
            Squash = squash,
            PetalCount = petalCount,
            StemEndX = stemEndX,
            StemBend = stemBend,
            StemWidth = stemWidth,
            StemColour = stem,
            Leaves = leaves,
            Background = background,
            BackgroundTop = top,
            BackgroundBottom = bottom,
            HorizonY = horizonY,
            GroundTop = groundTop,
            GroundBottom = groundBottom,
            DetailSeed = rng.NextUInt64(),
        };
    }

    /// <summary>HSV (hue in degrees, any value; s and v in [0, 1]) to an opaque colour, with + and × only.</summary>
    public static SKColor Hsv(double hue, double saturation, double value)
    {
        hue -= 360 * Math.Floor(hue / 360);
        double c = value * saturation;
        double hp = hue / 60;
        double x = c * (1 - Math.Abs((hp - (2 * Math.Floor(hp / 2))) - 1));
        (double r, double g, double b) = (int)hp switch
        {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        double m = value - c;
        return new SKColor(ToByte(r + m), ToByte(g + m), ToByte(b + m));
    }

    /// <summary>Scales a colour's channels by <paramref name="factor"/> (darker below 1, lighter above), clamped.</summary>
    public static SKColor Shade(SKColor colour, double factor) =>
        new(ToByte(colour.Red / 255.0 * factor), ToByte(colour.Green / 255.0 * factor), ToByte(colour.Blue / 255.0 * factor), colour.Alpha);

    /// <summary>Mixes <paramref name="colour"/> towards <paramref name="other"/> by <paramref name="t"/> in [0, 1].</summary>
    public static SKColor Mix(SKColor colour, SKColor other, double t) =>
        new(
            ToByte(((colour.Red * (1 - t)) + (other.Red * t)) / 255.0),
            ToByte(((colour.Green * (1 - t)) + (other.Green * t)) / 255.0),
            ToByte(((colour.Blue * (1 - t)) + (other.Blue * t)) / 255.0));

    private static SKColor BackgroundColour(DeterministicRandom rng)
    {
        double hue = rng.NextDouble(0, 360);
        double tone = rng.NextDouble();
        return tone switch
        {
            < 0.68 => Hsv(hue, rng.NextDouble(0.04, 0.3), rng.NextDouble(0.82, 0.98)), // pastel
            < 0.88 => Hsv(hue, rng.NextDouble(0.2, 0.5), rng.NextDouble(0.12, 0.32)),  // dark
            _ => Hsv(hue, rng.NextDouble(0.15, 0.4), rng.NextDouble(0.5, 0.72)),       // mid
        };
    }

    private static SKColor BackgroundColour(DeterministicRandom rng, SKColor near, double choice) =>
        choice < 0.5 ? Mix(near, BackgroundColour(rng), 0.6) : BackgroundColour(rng);

    private static byte ToByte(double unit) => (byte)Math.Clamp(Math.Round(unit * 255), 0, 255);
}
