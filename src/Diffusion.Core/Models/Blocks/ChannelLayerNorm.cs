using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// Layer normalisation over the channel axis of a <c>[N, C, H, W]</c> tensor, with a gain and no bias:
/// the book's <c>LayerNorm</c> (markhliu/DGAI <c>utils/ch15util.py</c>).
/// </summary>
/// <remarks>
/// Each pixel's C values are normalised with their mean and biased variance, then multiplied by the
/// gain <c>g</c> (<c>[1, C, 1, 1]</c>, initialised to ones). The epsilon is 1e-5 for float32 input and
/// 1e-3 for any other dtype, as in the book.
/// </remarks>
internal sealed class ChannelLayerNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter g;

    /// <summary>Creates the norm for <paramref name="dim"/> channels.</summary>
    /// <param name="dim">The channel count C, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is below 1.</exception>
    public ChannelLayerNorm(int dim)
        : base(nameof(ChannelLayerNorm))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        g = new Parameter(ones(1, dim, 1, 1));
        RegisterComponents();
    }

    /// <summary>Normalises <paramref name="x"/> <c>[N, C, H, W]</c> over C.</summary>
    /// <param name="x">The input, <c>[N, C, H, W]</c>.</param>
    /// <returns>A new tensor of the same shape; the caller owns it.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        double eps = x.dtype == ScalarType.Float32 ? 1e-5 : 1e-3;
        Tensor variance = x.var(1, unbiased: false, keepdim: true);                 // [N, 1, H, W]
        Tensor mean = x.mean([1L], keepdim: true);                                   // [N, 1, H, W]
        return ((x - mean) * (variance + eps).rsqrt() * g).MoveToOuterDisposeScope();
    }
}
