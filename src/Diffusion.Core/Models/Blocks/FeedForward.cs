using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>FeedForward</c> with its default <c>GEGLU</c> activation (<c>src/diffusers/models/attention.py</c>,
/// <c>activations.py</c>), as Stable Diffusion's transformer blocks use it. Keys: <c>net.0.proj</c> (the gated
/// projection to twice the inner width), <c>net.2</c> (back to the block's width); <c>net.1</c> is the dropout.
/// </summary>
/// <remarks>
/// <code>
/// (h, gate) = chunk(net.0.proj(x), 2)       // [N, L, inner] each; inner = 4·dim
/// out = net.2(dropout(h · gelu(gate)))      // [N, L, dim]; exact (erf) GELU, as torch's F.gelu
/// </code>
/// </remarks>
internal sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<nn.Module<Tensor, Tensor>> net;

    /// <summary>Creates the feed-forward.</summary>
    /// <param name="dim">Width of the input and the output.</param>
    /// <param name="mult">The inner width is <c>mult · dim</c>.</param>
    /// <param name="dropoutRate">Dropout after the gate (training mode only).</param>
    public FeedForward(int dim, int mult = 4, double dropoutRate = 0.0)
        : base(nameof(FeedForward))
    {
        int inner = dim * mult;
        net = nn.ModuleList<nn.Module<Tensor, Tensor>>(new GEGLU(dim, inner), nn.Dropout(dropoutRate), nn.Linear(inner, dim));
        RegisterComponents();
    }

    /// <summary>Applies the feed-forward to every position.</summary>
    /// <param name="x">A sequence <c>[N, L, dim]</c>.</param>
    /// <returns>A new tensor <c>[N, L, dim]</c>; the caller owns it.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        foreach (nn.Module<Tensor, Tensor> layer in net)
        {
            x = layer.call(x);
        }

        return x.MoveToOuterDisposeScope();
    }

    /// <summary>diffusers' <c>GEGLU</c>: a linear layer to twice the width, one half gated by the GELU of the other.</summary>
    private sealed class GEGLU : nn.Module<Tensor, Tensor>
    {
        private readonly Linear proj;

        public GEGLU(int dimIn, int dimOut)
            : base(nameof(GEGLU))
        {
            proj = nn.Linear(dimIn, dimOut * 2);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            Tensor[] halves = proj.call(x).chunk(2, dim: -1);                           // hidden, gate: [N, L, inner] each
            return (halves[0] * nn.functional.gelu(halves[1])).MoveToOuterDisposeScope();
        }
    }
}
