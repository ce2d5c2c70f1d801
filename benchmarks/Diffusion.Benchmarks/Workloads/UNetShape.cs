namespace Diffusion.Benchmarks.Workloads;

/// <summary>Widths, image side and batch of a benchmarked U-Net.</summary>
/// <param name="HiddenDims">The U-Net's level widths.</param>
/// <param name="ImageSize">Side of the square images.</param>
/// <param name="Batch">Images per call.</param>
/// <param name="Channels">Channels of the input (3 for images, 4 for Stable Diffusion's latents).</param>
internal sealed record UNetShape(int[] HiddenDims, int ImageSize, int Batch, int Channels = 3)
{
    public static UNetShape Of(UNetConfig config) => config switch
    {
        UNetConfig.Book => new([128, 256, 512, 1024], 64, 1),
        UNetConfig.Medium => new([64, 128, 256, 512], 64, 4),
        UNetConfig.Small => new([32, 64, 128, 256], 32, 8),
        _ => throw new ArgumentOutOfRangeException(nameof(config), config, "unknown configuration"),
    };

    /// <summary>Parses "64,128,256,512".</summary>
    public static int[] ParseDims(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse)];

    public override string ToString() => $"[{string.Join(",", HiddenDims)}]@{ImageSize} batch {Batch}";
}
