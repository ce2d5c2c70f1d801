using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>GaussianFourierProjection</c> (<c>src/diffusers/models/embeddings.py</c>), as score-SDE models
/// use it: <c>[sin(2π · ln σ · w), cos(2π · ln σ · w)]</c> with a fixed random vector <c>w ~ N(0, scale²)</c>,
/// a parameter that is not trained (key <c>weight</c>, <c>requires_grad</c> false).
/// </summary>
internal sealed class GaussianFourierProjection : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly bool log;
    private readonly bool flipSinToCos;

    /// <summary>Creates the projection with a freshly drawn <c>w</c>.</summary>
    /// <param name="embeddingSize">Length of <c>w</c>; the output has twice as many columns.</param>
    /// <param name="scale">Standard deviation of <c>w</c>.</param>
    /// <param name="log">Whether the input is replaced by its natural logarithm first.</param>
    /// <param name="flipSinToCos">True puts the cosine half first.</param>
    public GaussianFourierProjection(int embeddingSize = 256, double scale = 1.0, bool log = true, bool flipSinToCos = false)
        : base(nameof(GaussianFourierProjection))
    {
        this.log = log;
        this.flipSinToCos = flipSinToCos;
        using (no_grad())
        {
            weight = new Parameter(randn(embeddingSize) * scale, requires_grad: false);
        }

        RegisterComponents();
    }

    /// <summary>Projects <paramref name="x"/>.</summary>
    /// <param name="x">Noise levels or timesteps, <c>[N]</c>.</param>
    /// <returns>A new tensor <c>[N, 2 · embeddingSize]</c>; the caller owns it.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor t = is_floating_point(x) ? x : x.to(ScalarType.Float32);
        if (log)
        {
            t = t.log();
        }

        Tensor projected = t.unsqueeze(1) * weight.unsqueeze(0) * 2 * Math.PI;           // [N, size]
        Tensor output = flipSinToCos
            ? cat([projected.cos(), projected.sin()], dim: -1)
            : cat([projected.sin(), projected.cos()], dim: -1);                          // [N, 2·size]
        return output.MoveToOuterDisposeScope();
    }
}
