using Diffusion.Clip;

namespace Diffusion.Benchmarks;

/// <summary>Which CLIP the encoding benchmarks build.</summary>
public enum ClipSize
{
    /// <summary><see cref="ClipConfig.Tiny"/>: 2 layers of width 32 on 32×32 images.</summary>
    Tiny,

    /// <summary>The shape of openai/clip-vit-base-patch32 (random weights): ViT-B/32 at 224×224, a 12-layer 512-wide text transformer.</summary>
    VitB32,
}
