using Diffusion.Models;

namespace Diffusion.Benchmarks.Workloads;

/// <summary>The <see cref="UNet2DModel"/> configurations the benchmarks time (issue 15).</summary>
internal static class UNet2DShapes
{
    /// <summary>
    /// google/ddpm-cifar10-32: [128, 256, 256, 256] at 32×32, attention at 16×16 and in the 4×4 middle block, 35.7 M parameters. The
    /// same config.json as tests/reference/unet2d/parameter_counts.json (written by diffusers' own code), whose
    /// parameter count UNet2DModelLoadingTests checks; the comparison's PyTorch side reads that file.
    /// </summary>
    public static UNet2DModelConfig Cifar10 { get; } = new()
    {
        SampleSize = 32,
        BlockOutChannels = [128, 256, 256, 256],
        LayersPerBlock = 2,
        DownBlockTypes = ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"],
        UpBlockTypes = ["UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
        AttentionHeadDim = null,
        DownsamplePadding = 0,
        FlipSinToCos = false,
        FreqShift = 1,
        NormEps = 1e-6,
        NormNumGroups = 32,
        ActFn = ActivationFunction.Silu,
    };
}
