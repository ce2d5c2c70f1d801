namespace Diffusion.Data;

/// <summary>8-bit RGBA pixels to float32 CHW planes in [0, 1] (what <see cref="ImageItem.Image"/> holds).</summary>
internal static class PixelConversion
{
    /// <summary>
    /// Averages each <paramref name="factor"/>×<paramref name="factor"/> block of an opaque RGBA square
    /// of side <paramref name="sourceSide"/> into one pixel (a box filter: antialiased downsampling).
    /// </summary>
    /// <param name="rgba">Source pixels, 4 bytes each, rows packed.</param>
    /// <param name="sourceSide">Source width and height.</param>
    /// <param name="factor">Block side; divides <paramref name="sourceSide"/>.</param>
    /// <param name="chw">Destination, 3 × side × side floats with side = sourceSide / factor.</param>
    public static void BoxDownsample(ReadOnlySpan<byte> rgba, int sourceSide, int factor, Span<float> chw)
    {
        int side = sourceSide / factor;
        int plane = side * side;
        float scale = 1f / (255f * factor * factor);
        Span<int> sums = stackalloc int[3 * 1024];
        for (int y = 0; y < side; y++)
        {
            Span<int> row = sums[..(3 * side)];
            row.Clear();
            for (int dy = 0; dy < factor; dy++)
            {
                ReadOnlySpan<byte> line = rgba.Slice(((y * factor) + dy) * sourceSide * 4, sourceSide * 4);
                for (int x = 0; x < side; x++)
                {
                    int r = 0, g = 0, b = 0;
                    int offset = x * factor * 4;
                    for (int dx = 0; dx < factor; dx++, offset += 4)
                    {
                        r += line[offset];
                        g += line[offset + 1];
                        b += line[offset + 2];
                    }

                    row[3 * x] += r;
                    row[(3 * x) + 1] += g;
                    row[(3 * x) + 2] += b;
                }
            }

            int o = y * side;
            for (int x = 0; x < side; x++)
            {
                chw[o + x] = row[3 * x] * scale;
                chw[plane + o + x] = row[(3 * x) + 1] * scale;
                chw[(2 * plane) + o + x] = row[(3 * x) + 2] * scale;
            }
        }
    }

    /// <summary>Copies a <paramref name="size"/>² window at (<paramref name="left"/>, <paramref name="top"/>) of RGBA pixels into CHW floats, dropping alpha.</summary>
    /// <param name="rgba">Source pixels, 4 bytes each.</param>
    /// <param name="rowBytes">Bytes per source row.</param>
    /// <param name="left">Window's first column.</param>
    /// <param name="top">Window's first row.</param>
    /// <param name="size">Window side.</param>
    /// <param name="chw">Destination, 3 × size × size floats.</param>
    public static void Crop(ReadOnlySpan<byte> rgba, int rowBytes, int left, int top, int size, Span<float> chw)
    {
        int plane = size * size;
        for (int y = 0; y < size; y++)
        {
            ReadOnlySpan<byte> line = rgba.Slice(((top + y) * rowBytes) + (left * 4), size * 4);
            int o = y * size;
            for (int x = 0; x < size; x++)
            {
                // A division, not a multiplication by 1/255: bit-equal to torchvision's ToTensor (div(255)).
                chw[o + x] = line[4 * x] / 255f;
                chw[plane + o + x] = line[(4 * x) + 1] / 255f;
                chw[(2 * plane) + o + x] = line[(4 * x) + 2] / 255f;
            }
        }
    }
}
