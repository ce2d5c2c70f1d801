using System.Globalization;
using SkiaSharp;

namespace Diffusion.IO;

/// <summary>
/// Draws a loss curve as a picture a person can read: a title, both axes with tick numbers and labels
/// ("step", "loss"), light grid lines, the raw per-step losses drawn faintly and a centred moving average
/// drawn bold over them, and a legend.
/// </summary>
/// <remarks>
/// Text is drawn with DejaVu Sans embedded in this assembly (a subset; Bitstream Vera licence, see
/// DejaVu-LICENSE.txt in the package), never with a system font, so the picture is the same on a machine
/// with no fonts installed (SkiaSharp's NoDependencies native library finds none there).
/// The vertical axis spans the lowest raw value to the highest smoothed value or the raw values' 98th
/// percentile, whichever is higher, so a rare spike does not flatten the rest of the curve (raw values
/// above the range are cut at the top edge).
/// Non-finite values leave a gap.
/// </remarks>
public static class LossPlot
{
    private static readonly SKColor RawColour = new(70, 130, 180, 120);
    private static readonly SKColor SmoothColour = new(200, 40, 40);
    private static readonly SKColor GridColour = new(225, 225, 225);
    private static readonly SKColor TextColour = new(30, 30, 30);

    /// <summary>Draws the plot into a new bitmap.</summary>
    /// <param name="losses">The loss of each step, in step order (value i belongs to step <see cref="LossPlotOptions.FirstStep"/> + i); may be empty.</param>
    /// <param name="options">Size, texts, first step and smoothing; null takes the defaults.</param>
    /// <returns>A <see cref="LossPlotOptions.Width"/> × <see cref="LossPlotOptions.Height"/> bitmap. The caller owns and disposes it.</returns>
    /// <exception cref="ArgumentException">An option is out of range (all violations are listed).</exception>
    public static SKBitmap Render(IReadOnlyList<float> losses, LossPlotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(losses);
        options ??= new LossPlotOptions();
        options.Validate();
        int count = losses.Count;
        int window = options.SmoothingWindow ?? Math.Max(1, count / 25);
        double[] smooth = CentredMovingAverage(losses, window);
        (double yMin, double yMax) = ValueRange(losses, smooth);
        double xMin = options.FirstStep;
        double xMax = options.FirstStep + Math.Max(1, count - 1);

        float scale = Math.Min(options.Width / 960f, options.Height / 540f);
        using var tickFont = new SKFont(PlotFont.Typeface, Math.Max(9, 14 * scale));
        using var labelFont = new SKFont(PlotFont.Typeface, Math.Max(10, 16 * scale));
        using var titleFont = new SKFont(PlotFont.Typeface, Math.Max(11, 20 * scale));
        using var text = new SKPaint { Color = TextColour, IsAntialias = true };

        double[] yTicks = NiceTicks(yMin, yMax, Math.Max(3, options.Height / 90), integers: false);
        double[] xTicks = NiceTicks(xMin, xMax, Math.Max(3, options.Width / 150), integers: true);
        int yDecimals = Decimals(yTicks);
        string[] yLabels = [.. yTicks.Select(v => v.ToString("F" + yDecimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture))];
        string[] xLabels = [.. xTicks.Select(v => ((long)Math.Round(v)).ToString(CultureInfo.InvariantCulture))];

        // Layout, outside in: padding, title / axis label, tick labels, tick marks, plot area.
        float pad = 12 * Math.Max(0.75f, scale);
        float tick = 5 * Math.Max(0.75f, scale);
        float tickHeight = tickFont.Size;
        float widestY = yLabels.Select(l => tickFont.MeasureText(l)).DefaultIfEmpty(0).Max();
        float lastX = xLabels.Length > 0 ? tickFont.MeasureText(xLabels[^1]) : 0;
        var plot = new SKRect(
            left: pad + labelFont.Size + pad + widestY + tick + 4,
            top: pad + titleFont.Size + pad,
            right: options.Width - pad - Math.Max(pad, lastX / 2),
            bottom: options.Height - (pad + labelFont.Size + pad + tickHeight + tick + 4));
        float X(double step) => plot.Left + (float)((step - xMin) / (xMax - xMin) * plot.Width);
        float Y(double value) => plot.Bottom - (float)((value - yMin) / (yMax - yMin) * plot.Height);

        var bitmap = new SKBitmap(options.Width, options.Height);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            using var grid = new SKPaint { Color = GridColour, StrokeWidth = 1 };
            using var axis = new SKPaint { Color = TextColour, StrokeWidth = 1.25f, IsAntialias = true, Style = SKPaintStyle.Stroke };
            for (int i = 0; i < yTicks.Length; i++)
            {
                float y = Y(yTicks[i]);
                canvas.DrawLine(plot.Left, y, plot.Right, y, grid);
                canvas.DrawLine(plot.Left - tick, y, plot.Left, y, axis);
                canvas.DrawText(yLabels[i], plot.Left - tick - 4, y + (tickHeight * 0.35f), SKTextAlign.Right, tickFont, text);
            }

            for (int i = 0; i < xTicks.Length; i++)
            {
                float x = X(xTicks[i]);
                canvas.DrawLine(x, plot.Top, x, plot.Bottom, grid);
                canvas.DrawLine(x, plot.Bottom, x, plot.Bottom + tick, axis);
                canvas.DrawText(xLabels[i], x, plot.Bottom + tick + 4 + tickHeight, SKTextAlign.Center, tickFont, text);
            }

            canvas.Save();
            canvas.ClipRect(plot);
            DrawSeries(canvas, [.. losses.Select(v => (double)v)], X, Y, xMin, RawColour, Math.Max(1, scale));
            DrawSeries(canvas, smooth, X, Y, xMin, SmoothColour, 2.5f * Math.Max(0.75f, scale));
            canvas.Restore();
            canvas.DrawRect(plot, axis);

            canvas.DrawText(options.Title, options.Width / 2f, pad + titleFont.Size, SKTextAlign.Center, titleFont, text);
            canvas.DrawText(options.XLabel, plot.MidX, options.Height - pad, SKTextAlign.Center, labelFont, text);
            canvas.Save();
            canvas.RotateDegrees(-90, pad + labelFont.Size, plot.MidY);
            canvas.DrawText(options.YLabel, pad + labelFont.Size, plot.MidY, SKTextAlign.Center, labelFont, text);
            canvas.Restore();
            if (count == 0)
            {
                canvas.DrawText("no losses yet", plot.MidX, plot.MidY, SKTextAlign.Center, labelFont, text);
            }
            else
            {
                DrawLegend(canvas, plot, tickFont, text, window, scale);
            }
        }

        return bitmap;
    }

    /// <summary>Draws the plot and writes it as a PNG file, atomically (temporary file, then rename).</summary>
    /// <param name="losses">The loss of each step, in step order; may be empty.</param>
    /// <param name="path">The destination; its folder is created.</param>
    /// <param name="options">Size, texts, first step and smoothing; null takes the defaults.</param>
    /// <exception cref="ArgumentException">An option is out of range, or <paramref name="path"/> is empty.</exception>
    public static void Save(IReadOnlyList<float> losses, string path, LossPlotOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using SKBitmap bitmap = Render(losses, options);
        TensorImage.SavePng(bitmap, path);
    }

    // The mean of the finite values within window/2 steps on either side (fewer at the ends): no lag, unlike a trailing mean.
    private static double[] CentredMovingAverage(IReadOnlyList<float> values, int window)
    {
        int n = values.Count;
        var sums = new double[n + 1];
        var counts = new int[n + 1];
        for (int i = 0; i < n; i++)
        {
            bool finite = float.IsFinite(values[i]);
            sums[i + 1] = sums[i] + (finite ? values[i] : 0);
            counts[i + 1] = counts[i] + (finite ? 1 : 0);
        }

        var result = new double[n];
        int half = window / 2;
        for (int i = 0; i < n; i++)
        {
            int from = Math.Max(0, i - half), to = Math.Min(n, i - half + window);
            int used = counts[to] - counts[from];
            result[i] = float.IsFinite(values[i]) && used > 0 ? (sums[to] - sums[from]) / used : double.NaN;
        }

        return result;
    }

    private static (double Min, double Max) ValueRange(IReadOnlyList<float> raw, double[] smooth)
    {
        double[] finite = [.. raw.Where(float.IsFinite).Select(v => (double)v).Order()];
        double low = finite.Length > 0 ? finite[0] : double.NaN;
        // The top: the smoothed curve's highest point, or the raw values' 98th percentile if that is higher (so the
        // ordinary step-to-step noise shows, and only rare spikes are cut).
        double percentile = finite.Length > 0 ? finite[(int)Math.Floor(0.98 * (finite.Length - 1))] : double.NaN;
        double high = Math.Max(smooth.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max(), percentile);
        if (!double.IsFinite(low) || !double.IsFinite(high))
        {
            return (0, 1);
        }

        double span = high - low;
        if (span <= Math.Abs(high) * 1e-6)
        {
            span = Math.Max(Math.Abs(high) * 0.1, 1e-3); // a flat curve: show it mid-height
        }

        double min = low - (0.05 * span), max = high + (0.05 * span);
        return (low >= 0 ? Math.Max(0, min) : min, max);
    }

    // About `target` ticks at 1, 2 or 5 × 10^k apart, inside [min, max].
    private static double[] NiceTicks(double min, double max, int target, bool integers)
    {
        double raw = (max - min) / target;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double normalised = raw / magnitude;
        double step = (normalised < 1.5 ? 1 : normalised < 3 ? 2 : normalised < 7 ? 5 : 10) * magnitude;
        if (integers)
        {
            step = Math.Max(1, Math.Round(step));
        }

        var ticks = new List<double>();
        for (double t = Math.Ceiling((min / step) - 1e-9) * step; t <= max + (step * 1e-9); t += step)
        {
            ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        }

        return [.. ticks];
    }

    // Enough decimals to tell neighbouring ticks apart.
    private static int Decimals(double[] ticks) =>
        ticks.Length < 2 ? 2 : Math.Clamp((int)Math.Ceiling(-Math.Log10(ticks[1] - ticks[0]) - 1e-9), 0, 10);

    private static void DrawSeries(SKCanvas canvas, double[] values, Func<double, float> x, Func<double, float> y, double firstStep, SKColor colour, float width)
    {
        using var paint = new SKPaint { Color = colour, StrokeWidth = width, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeJoin = SKStrokeJoin.Round };
        using var path = new SKPathBuilder();
        bool drawing = false;
        for (int i = 0; i < values.Length; i++)
        {
            if (!double.IsFinite(values[i]))
            {
                drawing = false;
                continue;
            }

            var point = new SKPoint(x(firstStep + i), y(values[i]));
            if (drawing)
            {
                path.LineTo(point);
            }
            else
            {
                path.MoveTo(point);
                drawing = true;
            }
        }

        using SKPath built = path.Detach();
        canvas.DrawPath(built, paint);
    }

    private static void DrawLegend(SKCanvas canvas, SKRect plot, SKFont font, SKPaint text, int window, float scale)
    {
        // With a window of 1 the average is the raw curve: one entry.
        string[] names = window > 1 ? ["loss per step", $"moving average ({window} steps)"] : ["loss per step"];
        SKColor[] colours = window > 1 ? [RawColour, SmoothColour] : [SmoothColour];
        float line = 24 * Math.Max(0.75f, scale);
        float rowHeight = font.Size * 1.4f;
        float width = names.Max(n => font.MeasureText(n)) + line + (font.Size * 1.5f);
        var box = new SKRect(plot.Right - width - 8, plot.Top + 8, plot.Right - 8, plot.Top + 8 + (rowHeight * names.Length) + (font.Size * 0.5f));
        using var background = new SKPaint { Color = new SKColor(255, 255, 255, 220) };
        using var border = new SKPaint { Color = GridColour, Style = SKPaintStyle.Stroke };
        canvas.DrawRect(box, background);
        canvas.DrawRect(box, border);
        for (int i = 0; i < names.Length; i++)
        {
            float baseline = box.Top + (rowHeight * (i + 1));
            using var sample = new SKPaint { Color = colours[i], StrokeWidth = i == 0 ? 1.5f : 2.5f, IsAntialias = true };
            float left = box.Left + (font.Size * 0.5f);
            canvas.DrawLine(left, baseline - (font.Size * 0.35f), left + line, baseline - (font.Size * 0.35f), sample);
            canvas.DrawText(names[i], left + line + (font.Size * 0.5f), baseline, SKTextAlign.Left, font, text);
        }
    }
}
