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

    /// <summary>Registers <paramref name="modules"/> on <paramref name="owner"/> under their names, in the order given
    /// (the state dict lists keys in registration order), skipping the absent ones: the way a model body whose modules
    /// live on the model registers them.</summary>
    /// <param name="owner">The model.</param>
    /// <param name="modules">Name and module pairs, in the reference's order; a null module is left out.</param>
    public static void Register(nn.Module owner, params ReadOnlySpan<(string Name, nn.Module? Module)> modules)
    {
        foreach ((string name, nn.Module? module) in modules)
        {
            if (module is not null)
            {
                owner.register_module(name, module);
            }
        }
    }
}
