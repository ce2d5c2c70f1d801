using Diffusion.IO;
using SkiaSharp;

namespace Diffusion.Samples.Flowers;

/// <summary>Draws the loss curve (raw steps faint, a moving average bold) as a PNG, without text or fonts.</summary>
internal static class LossChart
{
    public static void Save(IReadOnlyList<float> losses, string path, int width = 640, int height = 360)
    {
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            const float Margin = 24;
            using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1.5f, IsAntialias = true, Style = SKPaintStyle.Stroke };
            canvas.DrawLine(Margin, Margin, Margin, height - Margin, axis);
            canvas.DrawLine(Margin, height - Margin, width - Margin, height - Margin, axis);
            if (losses.Count >= 2)
            {
                float max = losses.Where(float.IsFinite).DefaultIfEmpty(1).Max();
                float min = Math.Min(0, losses.Where(float.IsFinite).DefaultIfEmpty(0).Min());
                float X(int i) => Margin + ((width - (2 * Margin)) * i / (losses.Count - 1f));
                float Y(float v) => height - Margin - ((height - (2 * Margin)) * (v - min) / Math.Max(1e-6f, max - min));
                using var grid = new SKPaint { Color = new SKColor(220, 220, 220), StrokeWidth = 1 };
                for (int g = 1; g <= 4; g++)
                {
                    float y = Y(min + ((max - min) * g / 4));
                    canvas.DrawLine(Margin, y, width - Margin, y, grid);
                }

                DrawSeries(canvas, losses, X, Y, new SKColor(70, 130, 180, 90), 1);
                int window = Math.Max(1, losses.Count / 50);
                float[] smooth = [.. Enumerable.Range(0, losses.Count).Select(i => losses.Skip(Math.Max(0, i - window + 1)).Take(Math.Min(window, i + 1)).Average())];
                DrawSeries(canvas, smooth, X, Y, new SKColor(200, 40, 40), 2.5f);
            }
        }

        TensorImage.SavePng(bitmap, path);
    }

    private static void DrawSeries(SKCanvas canvas, IReadOnlyList<float> values, Func<int, float> x, Func<float, float> y, SKColor colour, float width)
    {
        using var paint = new SKPaint { Color = colour, StrokeWidth = width, IsAntialias = true, Style = SKPaintStyle.Stroke };
        for (int i = 1; i < values.Count; i++)
        {
            float previous = float.IsFinite(values[i - 1]) ? values[i - 1] : 0;
            float current = float.IsFinite(values[i]) ? values[i] : previous;
            canvas.DrawLine(x(i - 1), y(previous), x(i), y(current), paint);
        }
    }
}
