using TorchSharp.Modules;

namespace Diffusion.Clip.Models;

/// <summary>Weight initialisation as transformers' <c>CLIPPreTrainedModel._init_weights</c> does it.</summary>
internal static class ClipInit
{
    /// <summary>Weight ~ N(0, std²), bias (if any) zero.</summary>
    public static void Normal(Linear linear, double std)
    {
        using var noGrad = no_grad();
        nn.init.normal_(linear.weight, 0, std);
        if (linear.bias is { } bias)
        {
            nn.init.zeros_(bias);
        }
    }

    /// <summary>transformers' <c>in_proj_std</c>, of the attention's q/k/v and the MLP's <c>fc2</c>:
    /// hidden_size^−½ · (2 · num_hidden_layers)^−½.</summary>
    public static double InProjStd(ClipTransformerConfig config) =>
        Math.Pow(config.HiddenSize, -0.5) * Math.Pow(2 * config.NumHiddenLayers, -0.5);

    /// <summary>Tensor ~ N(0, std²).</summary>
    public static void Normal(Tensor tensor, double std)
    {
        using var noGrad = no_grad();
        nn.init.normal_(tensor, 0, std);
    }
}
