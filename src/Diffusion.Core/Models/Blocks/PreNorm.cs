namespace Diffusion.Models.Blocks;

/// <summary>Applies a <see cref="ChannelLayerNorm"/> before a module: <c>fn(norm(x))</c> (the book's <c>PreNorm</c>).</summary>
/// <remarks>Key names: <c>fn.*</c> for the wrapped module, then <c>norm.g</c>, in the book's order.</remarks>
internal sealed class PreNorm : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> fn;
    private readonly ChannelLayerNorm norm;

    /// <summary>Wraps <paramref name="fn"/> behind a channel layer norm of <paramref name="dim"/> channels.</summary>
    /// <param name="dim">The channel count of the input.</param>
    /// <param name="fn">The wrapped module; this module owns it from now on.</param>
    public PreNorm(int dim, nn.Module<Tensor, Tensor> fn)
        : base(nameof(PreNorm))
    {
        ArgumentNullException.ThrowIfNull(fn);
        this.fn = fn;
        norm = new ChannelLayerNorm(dim);
        RegisterComponents();
    }

    /// <summary>Computes <c>fn(norm(x))</c>.</summary>
    /// <param name="x">The input, <c>[N, dim, H, W]</c>.</param>
    /// <returns>A new tensor; the caller owns it.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fn.call(norm.call(x)).MoveToOuterDisposeScope();
    }
}
