using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests;

/// <summary>Moves a fresh model's norm weights off 1 and biases off 0 (as the reference scripts' <c>perturb</c> does),
/// so that a folder saved from it shows a mis-mapped norm key when diffusers loads it.</summary>
internal static class NormPerturbation
{
    /// <summary>Every parameter whose name contains "norm": weights become 1 + 0.2·N(0, 1), biases 0.2·N(0, 1).</summary>
    public static void Apply(nn.Module model)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach ((string name, TorchSharp.Modules.Parameter p) in model.named_parameters().Where(p => p.name.Contains("norm")))
        {
            p.copy_(name.EndsWith(".weight") ? 1 + 0.2 * randn_like(p) : 0.2 * randn_like(p));
        }
    }
}
