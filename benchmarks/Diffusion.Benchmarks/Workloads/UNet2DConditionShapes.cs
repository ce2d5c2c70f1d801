using Diffusion.Models;

namespace Diffusion.Benchmarks.Workloads;

/// <summary>The <see cref="UNet2DConditionModel"/> configurations the benchmarks time (issue 19).</summary>
internal static class UNet2DConditionShapes
{
    /// <summary>Text tokens per prompt (CLIP's 77).</summary>
    public const int TextLength = 77;

    /// <summary>
    /// stable-diffusion-v1-5's unet/config.json: [320, 640, 1280, 1280], 8 heads, 768-wide CLIP text states,
    /// 859.5 M parameters (diffusers' count, tests/reference/unet2dcond/parameter_counts.json).
    /// </summary>
    public static UNet2DConditionModelConfig StableDiffusion15 { get; } = new() { SampleSize = 64, CrossAttentionDim = [768] };

    /// <summary>
    /// SD 1.5's layout at a quarter of its widths, [80, 160, 320, 320], with 2 heads instead of 8 so that the heads keep
    /// SD 1.5's widths (40, 80, 160, 160) and SD 1.5's 768-wide text states; timed on 32×32 latents (256×256 images).
    /// The same configuration as UNET2DCOND in benchmarks/pytorch/compare.py, which benchmarks/compare.sh --model
    /// unet2dcond times side by side.
    /// </summary>
    public static UNet2DConditionModelConfig Reduced { get; } = new()
    {
        SampleSize = 32,
        BlockOutChannels = [80, 160, 320, 320],
        NormNumGroups = 16,
        AttentionHeadDim = [2],
        CrossAttentionDim = [768],
    };
}
