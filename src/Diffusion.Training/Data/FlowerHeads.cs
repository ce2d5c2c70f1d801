using SkiaSharp;

namespace Diffusion.Data;

/// <summary>
/// The flower heads of <see cref="ProceduralFlowers"/>, one method per species. Each draws in the head's
/// own frame: origin at the head's centre, radius 1, petals built pointing along +x and turned into place.
/// </summary>
internal static class FlowerHeads
{
    private static readonly SKColor Yellow = FlowerParameters.Hsv(47, 0.9, 0.96);
    private static readonly SKColor DeepOrange = FlowerParameters.Hsv(30, 0.9, 0.78);

    /// <summary>Rings with this many petals or fewer are drawn petal by petal.</summary>
    private const int SeparateRingLimit = 6;

    /// <summary>Paints the head of <paramref name="p"/>; <paramref name="rng"/> jitters single petals.</summary>
    public static void Paint(SKCanvas canvas, FlowerParameters p, DeterministicRandom rng, SKPaint fill, SKPaint stroke)
    {
        canvas.Save();
        float radius = (float)p.Radius;
        if (p.Species == FlowerCatalog.Tulip)
        {
            // Tulips are seen from the side: tilt a little instead of spinning.
            SKMatrix side = FlowerPainter.Placement(p.HeadX, p.HeadY, ((p.Rotation / Math.PI) - 1) * 0.2, radius * 0.5, radius * 0.5);
            canvas.Concat(in side);
            Tulip(canvas, p.Petal, fill, stroke);
            canvas.Restore();
            return;
        }

        SKMatrix face = FlowerPainter.Placement(p.HeadX, p.HeadY, 0, radius, radius * p.Squash);
        canvas.Concat(in face);
        stroke.StrokeWidth = 0.006f / radius; // ≈ a quarter of an output pixel at 32 px, drawn at 4×
        double start = p.Rotation;
        int n = p.PetalCount;
        switch (p.Species)
        {
            case FlowerCatalog.Daisy:
                using (SKPath petal = Ellipse(0.16f, 1f, (float)Math.Clamp(Math.PI / n * 0.55, 0.07, 0.14)))
                {
                    Ring(canvas, petal, n, start, p.Petal, 0.06, rng, fill, stroke);
                }

                Disc(canvas, 0.27f, p.Colour == FlowerCatalog.Yellow ? DeepOrange : Yellow, fill, stroke);
                break;
            case FlowerCatalog.Aster:
                using (SKPath outer = Pointed(0.1f, 1f, (float)(Math.PI / n * 0.8)), inner = Pointed(0.1f, 0.78f, (float)(Math.PI / n * 0.8)))
                {
                    Ring(canvas, outer, n, start, p.Petal, 0.08, rng, fill, stroke);
                    Ring(canvas, inner, n, start + (Math.PI / n), FlowerParameters.Shade(p.Petal, 0.85), 0.08, rng, fill, stroke);
                }

                Disc(canvas, 0.2f, Yellow, fill, stroke);
                break;
            case FlowerCatalog.Sunflower:
                using (SKPath outer = Pointed(0.4f, 1f, (float)(Math.PI / n * 1.25)), inner = Pointed(0.4f, 0.88f, (float)(Math.PI / n * 1.2)))
                {
                    Ring(canvas, outer, n, start, p.Petal, 0.06, rng, fill, stroke);
                    Ring(canvas, inner, n, start + (Math.PI / n), FlowerParameters.Shade(p.Petal, 0.9), 0.06, rng, fill, stroke);
                }

                Disc(canvas, 0.52f, FlowerParameters.Hsv(25, 0.75, 0.32), fill, stroke);
                Disc(canvas, 0.34f, FlowerParameters.Hsv(20, 0.7, 0.2), fill, null);
                break;
            case FlowerCatalog.Chrysanthemum:
                double[] lengths = [1.0, 0.78, 0.55];
                double[] shades = [0.8, 0.92, 1.06];
                for (int layer = 0; layer < 3; layer++)
                {
                    int count = n - (4 * layer);
                    using SKPath petal = Pointed(0.08f, (float)lengths[layer], (float)(Math.PI / count * 0.95));
                    Ring(canvas, petal, count, start + (layer * Math.PI / count), FlowerParameters.Shade(p.Petal, shades[layer]), 0.07, rng, fill, stroke);
                }

                Disc(canvas, 0.11f, Yellow, fill, null);
                break;
            case FlowerCatalog.Poppy:
                using (SKPath petal = Circle(0.42f, 0.6f))
                {
                    Ring(canvas, petal, n, start, p.Petal, 0.07, rng, fill, stroke);
                }

                Disc(canvas, 0.24f, FlowerParameters.Hsv(0, 0, 0.07), fill, null);
                Disc(canvas, 0.09f, FlowerParameters.Hsv(90, 0.3, 0.25), fill, null);
                break;
            case FlowerCatalog.Rose:
                Rose(canvas, p.Petal, n, start, rng, fill, stroke);
                break;
            default:
                Lily(canvas, p.Petal, start, rng, fill, stroke);
                break;
        }

        canvas.Restore();
    }

    /// <summary>
    /// Draws <paramref name="count"/> copies of <paramref name="petal"/> evenly around the centre. Rings of
    /// up to <see cref="SeparateRingLimit"/> petals draw each petal with its own shade and outline, in
    /// order, so each overlaps the one before (poppies, roses, lilies). Larger rings draw their petals
    /// in three shade groups, one path each, and all outlines as one path: the same look at a tenth of
    /// the draw calls (the petals barely overlap).
    /// </summary>
    private static void Ring(SKCanvas canvas, SKPath petal, int count, double start, SKColor colour, double jitter, DeterministicRandom rng, SKPaint fill, SKPaint? stroke)
    {
        if (count <= SeparateRingLimit)
        {
            for (int i = 0; i < count; i++)
            {
                double angle = start + (2 * Math.PI * i / count) + rng.NextDouble(-0.06, 0.06);
                SKColor shade = FlowerParameters.Shade(colour, 1 + rng.NextDouble(-jitter, jitter));
                canvas.Save();
                SKMatrix turn = FlowerPainter.Placement(0, 0, angle);
                canvas.Concat(in turn);
                fill.Color = shade;
                canvas.DrawPath(petal, fill);
                if (stroke is not null)
                {
                    stroke.Color = FlowerParameters.Shade(shade, 0.72);
                    canvas.DrawPath(petal, stroke);
                }

                canvas.Restore();
            }

            return;
        }

        const int Groups = 3;
        using var all = new SKPathBuilder();
        Span<SKColor> shades = stackalloc SKColor[Groups];
        for (int g = 0; g < Groups; g++)
        {
            shades[g] = FlowerParameters.Shade(colour, 1 + rng.NextDouble(-jitter, jitter));
        }

        for (int g = 0; g < Groups; g++)
        {
            using var group = new SKPathBuilder();
            for (int i = g; i < count; i += Groups)
            {
                double angle = start + (2 * Math.PI * i / count) + rng.NextDouble(-0.06, 0.06);
                SKMatrix turn = FlowerPainter.Placement(0, 0, angle);
                group.AddPath(petal, in turn, SKPathAddMode.Append);
            }

            using SKPath groupPath = group.Detach();
            fill.Color = shades[g];
            canvas.DrawPath(groupPath, fill);
            all.AddPath(groupPath, SKPathAddMode.Append);
        }

        if (stroke is not null)
        {
            using SKPath outline = all.Detach();
            stroke.Color = FlowerParameters.Shade(colour, 0.72);
            canvas.DrawPath(outline, stroke);
        }
    }

    private static void Disc(SKCanvas canvas, float radius, SKColor colour, SKPaint fill, SKPaint? stroke)
    {
        fill.Color = colour;
        canvas.DrawCircle(0, 0, radius, fill);
        if (stroke is not null)
        {
            stroke.Color = FlowerParameters.Shade(colour, 0.7);
            canvas.DrawCircle(0, 0, radius, stroke);
        }
    }

    private static SKPath Ellipse(float from, float to, float halfWidth)
    {
        using var builder = new SKPathBuilder();
        builder.AddOval(new SKRect(from, -halfWidth, to, halfWidth), SKPathDirection.Clockwise);
        return builder.Detach();
    }

    private static SKPath Circle(float x, float radius)
    {
        using var builder = new SKPathBuilder();
        builder.AddCircle(x, 0, radius, SKPathDirection.Clockwise);
        return builder.Detach();
    }

    /// <summary>A lance-shaped petal from <paramref name="from"/> to a point at <paramref name="to"/>.</summary>
    private static SKPath Pointed(float from, float to, float halfWidth)
    {
        float length = to - from;
        using var builder = new SKPathBuilder();
        builder.MoveTo(from, 0);
        builder.CubicTo(from + (length * 0.2f), halfWidth * 1.35f, from + (length * 0.65f), halfWidth * 1.15f, to, 0);
        builder.CubicTo(from + (length * 0.65f), -halfWidth * 1.15f, from + (length * 0.2f), -halfWidth * 1.35f, from, 0);
        builder.Close();
        return builder.Detach();
    }

    private static void Rose(SKCanvas canvas, SKColor colour, int n, double start, DeterministicRandom rng, SKPaint fill, SKPaint stroke)
    {
        using (SKPath petal = Circle(0.48f, 0.5f))
        {
            Ring(canvas, petal, n, start, FlowerParameters.Shade(colour, 0.84), 0.05, rng, fill, stroke);
        }

        Disc(canvas, 0.74f, colour, fill, null);

        // The rolled inner petals: arcs spiralling inwards, darker than the body.
        stroke.Color = FlowerParameters.Shade(colour, 0.68);
        float width = stroke.StrokeWidth;
        stroke.StrokeWidth = 0.075f;
        float sweepStart = (float)(start * 180 / Math.PI);
        float[] radii = [0.6f, 0.44f, 0.29f, 0.15f];
        for (int k = 0; k < radii.Length; k++)
        {
            float r = radii[k];
            canvas.DrawArc(new SKRect(-r, -r, r, r), sweepStart + (k * 105) + (float)rng.NextDouble(-20, 20), 230, false, stroke);
        }

        stroke.StrokeWidth = width;
        Disc(canvas, 0.07f, FlowerParameters.Shade(colour, 0.6), fill, null);
    }

    private static void Lily(SKCanvas canvas, SKColor colour, double start, DeterministicRandom rng, SKPaint fill, SKPaint stroke)
    {
        using (SKPath back = Pointed(0f, 1f, 0.26f), front = Pointed(0f, 0.92f, 0.3f))
        {
            Ring(canvas, back, 3, start + (Math.PI / 3), FlowerParameters.Shade(colour, 0.86), 0.04, rng, fill, stroke);
            Ring(canvas, front, 3, start, colour, 0.04, rng, fill, stroke);
        }

        // Stamens: thin dark lines with anther dots, and a pale green throat.
        Disc(canvas, 0.16f, FlowerParameters.Hsv(80, 0.45, 0.85), fill, null);
        stroke.Color = FlowerParameters.Hsv(30, 0.6, 0.45);
        float width = stroke.StrokeWidth;
        stroke.StrokeWidth = 0.03f;
        for (int i = 0; i < 6; i++)
        {
            double angle = start + (Math.PI / 6) + (2 * Math.PI * i / 6) + rng.NextDouble(-0.2, 0.2);
            float x = (float)(0.5 * DeterministicMath.Cos(angle));
            float y = (float)(0.5 * DeterministicMath.Sin(angle));
            canvas.DrawLine(0, 0, x, y, stroke);
            fill.Color = FlowerParameters.Hsv(18, 0.8, 0.35);
            canvas.DrawCircle(x, y, 0.06f, fill);
        }

        stroke.StrokeWidth = width;
    }

    /// <summary>A side-on tulip cup, 2 high by 2 wide in head units (three pointed outer petals).</summary>
    private static void Tulip(SKCanvas canvas, SKColor colour, SKPaint fill, SKPaint stroke)
    {
        using var builder = new SKPathBuilder();
        builder.MoveTo(-1.55f, -1.3f);
        builder.CubicTo(-1.85f, 0.5f, -1.3f, 2f, 0, 2.05f);
        builder.CubicTo(1.3f, 2f, 1.85f, 0.5f, 1.55f, -1.3f);
        builder.LineTo(0.8f, -0.45f);
        builder.LineTo(0, -1.75f);
        builder.LineTo(-0.8f, -0.45f);
        builder.Close();
        using SKPath cup = builder.Detach();
        fill.Color = colour;
        canvas.DrawPath(cup, fill);

        // The middle petal in front, a shade lighter, with its edges drawn darker.
        builder.MoveTo(0, -1.75f);
        builder.CubicTo(0.95f, -0.6f, 0.9f, 1.4f, 0, 2.0f);
        builder.CubicTo(-0.9f, 1.4f, -0.95f, -0.6f, 0, -1.75f);
        builder.Close();
        using SKPath middle = builder.Detach();
        fill.Color = FlowerParameters.Mix(colour, SKColors.White, 0.12);
        canvas.DrawPath(middle, fill);
        stroke.Color = FlowerParameters.Shade(colour, 0.7);
        stroke.StrokeWidth = 0.1f;
        canvas.DrawPath(middle, stroke);
        canvas.DrawPath(cup, stroke);
    }
}
