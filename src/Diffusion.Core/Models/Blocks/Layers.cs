using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>Factories for the plain layers every block needs, initialised as PyTorch initialises them.</summary>
internal static class Layers
{
    /// <summary>A GroupNorm with weight = 1 and bias = 0.</summary>
    /// <remarks>TorchSharp 0.107's GroupNorm leaves its affine parameters uninitialised (torch.empty, no
    /// reset_parameters); PyTorch starts them at weight = 1, bias = 0, and so do we.</remarks>
    public static GroupNorm GroupNorm(int groups, int channels, double eps = 1e-5)
    {
        GroupNorm norm = nn.GroupNorm(groups, channels, eps);
        using (no_grad())
        using (NewDisposeScope()) // in-place methods return a new handle to the same tensor
        {
            norm.weight.fill_(1);
            norm.bias!.zero_();
        }

        return norm;
    }

    /// <summary>The activation module diffusers' <c>get_activation</c> returns for <paramref name="function"/>.</summary>
    public static nn.Module<Tensor, Tensor> Activation(ActivationFunction function) => function switch
    {
        ActivationFunction.Silu or ActivationFunction.Swish => nn.SiLU(),
        ActivationFunction.Mish => nn.Mish(),
        ActivationFunction.Gelu => nn.GELU(),
        ActivationFunction.Relu => nn.ReLU(),
        _ => throw new ArgumentOutOfRangeException(nameof(function), function, $"unknown activation {function}."),
    };
}
