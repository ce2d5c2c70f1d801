using SkiaSharp;

namespace Diffusion.IO;

/// <summary>Lays a batch of images out as a grid and saves it as a PNG.</summary>
public static class ImageGrid
{
    /// <summary>Draws images [N, 3, H, W] in [0, 1] into one grid bitmap, row by row.</summary>
    /// <param name="images">The images (values outside [0, 1] are clamped).</param>
    /// <param name="columns">Images per row; at least 1.</param>
    /// <param name="padding">Pixels of white between and around images; 0 or more.</param>
    /// <param name="scale">Integer nearest-neighbour enlargement of the whole grid (small images stay sharp); 1 to 16.</param>
    /// <returns>A bitmap owned by the caller.</returns>
    /// <exception cref="ArgumentException">The tensor is not [N, 3, H, W] with N ≥ 1, or an argument is out of range.</exception>
    public static SKBitmap ToBitmap(Tensor images, int columns = 8, int padding = 2, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.ndim != 4 || images.shape[0] < 1 || images.shape[1] != 3)
        {
            throw new ArgumentException($"images must be [N,3,H,W] with N >= 1; got [{string.Join(',', images.shape)}].", nameof(images));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(scale, 16);
        int count = (int)images.shape[0];
        int height = (int)images.shape[2];
        int width = (int)images.shape[3];
        int cols = Math.Min(columns, count);
        int rows = (count + cols - 1) / cols;
        using var scope = NewDisposeScope();
        Tensor grid = ones(3, padding + (rows * (height + padding)), padding + (cols * (width + padding))); // white [3, H', W']
        Tensor source = images.detach().to(float32).cpu();
        for (int i = 0; i < count; i++)
        {
            int top = padding + (i / cols * (height + padding));
            int left = padding + (i % cols * (width + padding));
            grid[.., top..(top + height), left..(left + width)] = source[i];
        }

        if (scale > 1)
        {
            grid = grid.repeat_interleave(scale, 1).repeat_interleave(scale, 2); // [3, H'·s, W'·s]
        }

        return TensorImage.ToBitmap(grid);
    }

    /// <summary>Saves images [N, 3, H, W] in [0, 1] as a PNG grid, atomically (temporary file, then rename).</summary>
    /// <param name="images">The images.</param>
    /// <param name="path">The destination; its folder is created.</param>
    /// <param name="columns">Images per row.</param>
    /// <param name="padding">Pixels between images.</param>
    /// <param name="scale">Integer nearest-neighbour enlargement; 1 to 16.</param>
    public static void Save(Tensor images, string path, int columns = 8, int padding = 2, int scale = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using SKBitmap grid = ToBitmap(images, columns, padding, scale);
        TensorImage.SavePng(grid, path);
    }
}
