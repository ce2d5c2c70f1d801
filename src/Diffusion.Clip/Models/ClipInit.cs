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

    /// <summary>Tensor ~ N(0, std²).</summary>
    public static void Normal(Tensor tensor, double std)
    {
        using var noGrad = no_grad();
        nn.init.normal_(tensor, 0, std);
    }
}
