namespace Diffusion.Models.Blocks;

/// <summary>Adds a module's input to its output: <c>fn(x) + x</c> (the book's <c>Residual</c>).</summary>
internal sealed class Residual : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> fn;

    /// <summary>Wraps <paramref name="fn"/>, whose output must have its input's shape.</summary>
    /// <param name="fn">The wrapped module; this module owns it from now on (its key prefix is <c>fn.</c>).</param>
    public Residual(nn.Module<Tensor, Tensor> fn)
        : base(nameof(Residual))
    {
        ArgumentNullException.ThrowIfNull(fn);
        this.fn = fn;
        RegisterComponents();
    }

    /// <summary>Computes <c>fn(x) + x</c>.</summary>
    /// <param name="x">The input.</param>
    /// <returns>A new tensor of the input's shape; the caller owns it.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return (fn.call(x) + x).MoveToOuterDisposeScope();
    }
}
