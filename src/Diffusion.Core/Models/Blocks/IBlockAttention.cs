namespace Diffusion.Models.Blocks;

/// <summary>
/// What a U-Net block needs from the attention after each residual block: the feature-map self-attention of
/// <c>AttnDownBlock2D</c> (<see cref="Attention"/>) or the transformer of <c>CrossAttnDownBlock2D</c>
/// (<see cref="Transformer2DModel"/>). The blocks call it through this interface, so one block class serves both.
/// </summary>
internal interface IBlockAttention
{
    /// <summary>Runs the attention on a feature map.</summary>
    /// <param name="x">The feature map <c>[N, C, H, W]</c>.</param>
    /// <param name="context">The encoder states <c>[N, S, D]</c> for cross-attention; null where the block has none.</param>
    /// <param name="contextBias">An additive bias <c>[N, 1, S]</c> on the cross-attention scores; null for none.</param>
    /// <returns>A new tensor <c>[N, C, H, W]</c>; the caller owns it.</returns>
    Tensor Attend(Tensor x, Tensor? context, Tensor? contextBias);
}
