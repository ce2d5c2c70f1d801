using SkiaSharp;

namespace Diffusion.Data;

/// <summary>
/// Draws one procedural flower — background, stem, leaves, head — on a canvas whose unit square is the
/// image. Geometry is computed with <see cref="DeterministicMath"/> and handed to Skia as plain
/// matrices, so no platform trigonometry or font is involved.
/// </summary>
internal static class FlowerPainter
{
    /// <summary>Paints <paramref name="p"/> over the whole unit square of <paramref name="canvas"/>.</summary>
    /// <param name="canvas">The canvas, scaled so that (0, 0)–(1, 1) is the image.</param>
    /// <param name="p">The flower.</param>
    /// <param name="antialias">
    /// Whether Skia should antialias edges itself. Not needed when the caller draws at 4× and averages
    /// 4×4 blocks: that already gives 16 coverage levels per pixel, and Skia's aliased fills are 2–3×
    /// faster (and have no coverage rounding that could vary with the CPU's SIMD path).
    /// </param>
    public static void Paint(SKCanvas canvas, FlowerParameters p, bool antialias)
    {
        using var fill = new SKPaint { IsAntialias = antialias, Style = SKPaintStyle.Fill };
        using var stroke = new SKPaint { IsAntialias = antialias, Style = SKPaintStyle.Stroke, StrokeCap = SKStrokeCap.Round };
        PaintBackground(canvas, p, fill);
        var stemTop = new SKPoint((float)p.HeadX, (float)p.HeadY);
        var stemBottom = new SKPoint((float)p.StemEndX, 1.05f);
        var control = new SKPoint((float)(((p.HeadX + p.StemEndX) / 2) + p.StemBend), (float)((p.HeadY + 1.05) / 2));
        using (var builder = new SKPathBuilder())
        {
            builder.MoveTo(stemTop);
            builder.QuadTo(control, stemBottom);
            using SKPath stem = builder.Detach();
            stroke.Color = p.StemColour;
            stroke.StrokeWidth = (float)p.StemWidth;
            canvas.DrawPath(stem, stroke);
        }

        foreach (LeafParameters leaf in p.Leaves)
        {
            PaintLeaf(canvas, leaf, Quadratic(stemTop, control, stemBottom, leaf.StemPosition), fill, stroke);
        }

        var detail = new DeterministicRandom(p.DetailSeed);
        FlowerHeads.Paint(canvas, p, detail, fill, stroke);
    }

    /// <summary>A rotation by <paramref name="angle"/> radians, a scale, then a move to (x, y).</summary>
    public static SKMatrix Placement(double x, double y, double angle, double scaleX = 1, double scaleY = 1)
    {
        double c = DeterministicMath.Cos(angle);
        double s = DeterministicMath.Sin(angle);
        return new SKMatrix(
            (float)(c * scaleX), (float)(-s * scaleY), (float)x,
            (float)(s * scaleX), (float)(c * scaleY), (float)y,
            0, 0, 1);
    }

    private static void PaintBackground(SKCanvas canvas, FlowerParameters p, SKPaint fill)
    {
        var unit = new SKRect(0, 0, 1, 1);
        switch (p.Background)
        {
            case FlowerBackground.Plain:
                fill.Color = p.BackgroundTop;
                canvas.DrawRect(unit, fill);
                break;
            case FlowerBackground.Gradient:
                using (var shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, 1), [p.BackgroundTop, p.BackgroundBottom], SKShaderTileMode.Clamp))
                {
                    fill.Shader = shader;
                    canvas.DrawRect(unit, fill);
                    fill.Shader = null;
                }

                break;
            default:
                float horizon = (float)p.HorizonY;
                using (var sky = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, horizon), [p.BackgroundTop, FlowerParameters.Mix(p.BackgroundBottom, SKColors.White, 0.35)], SKShaderTileMode.Clamp))
                {
                    fill.Shader = sky;
                    canvas.DrawRect(new SKRect(0, 0, 1, horizon), fill);
                }

                using (var ground = SKShader.CreateLinearGradient(new SKPoint(0, horizon), new SKPoint(0, 1), [p.GroundTop, p.GroundBottom], SKShaderTileMode.Clamp))
                {
                    fill.Shader = ground;
                    canvas.DrawRect(new SKRect(0, horizon, 1, 1), fill);
                    fill.Shader = null;
                }

                break;
        }
    }

    private static void PaintLeaf(SKCanvas canvas, LeafParameters leaf, SKPoint at, SKPaint fill, SKPaint stroke)
    {
        // The leaf points away from the stem, Angle degrees above the horizontal, on the given side.
        double radians = leaf.Angle * Math.PI / 180;
        double angle = leaf.Side > 0 ? -radians : Math.PI + radians;
        float length = (float)leaf.Length;
        float half = (float)(leaf.Length * leaf.Width / 2);
        using var builder = new SKPathBuilder();
        builder.MoveTo(0, 0);
        builder.CubicTo(length * 0.25f, half * 1.6f, length * 0.7f, half, length, 0);
        builder.CubicTo(length * 0.7f, -half, length * 0.25f, -half * 1.6f, 0, 0);
        builder.Close();
        using SKPath path = builder.Detach();
        canvas.Save();
        SKMatrix m = Placement(at.X, at.Y, angle);
        canvas.Concat(in m);
        fill.Color = leaf.Colour;
        canvas.DrawPath(path, fill);
        stroke.Color = FlowerParameters.Shade(leaf.Colour, 0.7);
        stroke.StrokeWidth = 0.006f;
        canvas.DrawLine(0, 0, length * 0.85f, 0, stroke);
        canvas.Restore();
    }

    private static SKPoint Quadratic(SKPoint a, SKPoint control, SKPoint b, double t)
    {
        double u = 1 - t;
        return new SKPoint(
            (float)((u * u * a.X) + (2 * u * t * control.X) + (t * t * b.X)),
            (float)((u * u * a.Y) + (2 * u * t * control.Y) + (t * t * b.Y)));
    }
}
