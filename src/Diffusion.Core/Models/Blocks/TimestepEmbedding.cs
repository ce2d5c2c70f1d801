using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>TimestepEmbedding</c> (<c>src/diffusers/models/embeddings.py</c>): the MLP
/// <c>linear_2(act(linear_1(x)))</c> that turns the projected timestep into the embedding every residual block
/// receives. (Not to be confused with <see cref="Models.TimestepEmbedding"/>, the sinusoidal functions.)
/// </summary>
internal sealed class TimestepEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Linear linear_1;
    private readonly nn.Module<Tensor, Tensor> act;
    private readonly Linear linear_2;

    /// <summary>Creates the MLP.</summary>
    /// <param name="inChannels">Width of the projected timestep.</param>
    /// <param name="timeEmbedDim">Width of the hidden layer and (unless <paramref name="outDim"/> is given) the output.</param>
    /// <param name="activation">The activation between the layers (diffusers' default: SiLU).</param>
    /// <param name="outDim">Width of the output; null takes <paramref name="timeEmbedDim"/>.</param>
    public TimestepEmbedding(int inChannels, int timeEmbedDim, ActivationFunction activation = ActivationFunction.Silu, int? outDim = null)
        : base(nameof(TimestepEmbedding))
    {
        linear_1 = nn.Linear(inChannels, timeEmbedDim);
        act = Layers.Activation(activation);
        linear_2 = nn.Linear(timeEmbedDim, outDim ?? timeEmbedDim);
        RegisterComponents();
    }

    /// <summary>Embeds <paramref name="sample"/>.</summary>
    /// <param name="sample">The projected timesteps, <c>[N, inChannels]</c>.</param>
    /// <returns>A new tensor <c>[N, outDim]</c>; the caller owns it.</returns>
    public override Tensor forward(Tensor sample)
    {
        using var scope = NewDisposeScope();
        return linear_2.call(act.call(linear_1.call(sample))).MoveToOuterDisposeScope();
    }
}
