using TorchSharp.Modules;

namespace Diffusion.Clip.Models;

/// <summary>The transformer block's MLP: fc1, activation, fc2 (Hugging Face <c>CLIPMLP</c>).</summary>
internal sealed class ClipMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly ClipActivation activation;

    public ClipMlp(ClipTransformerConfig config, bool initialize)
        : base(nameof(ClipMlp))
    {
        activation = config.HiddenAct;
        fc1 = nn.Linear(config.HiddenSize, config.IntermediateSize);
        fc2 = nn.Linear(config.IntermediateSize, config.HiddenSize);
        if (initialize)
        {
            ClipInit.Normal(fc1, Math.Pow(2 * config.HiddenSize, -0.5));
            ClipInit.Normal(fc2, ClipInit.InProjStd(config));
        }

        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor hidden = fc1.call(x); // [B, T, intermediate]
        hidden = activation switch
        {
            // quick_gelu: x·σ(1.702x), OpenAI's approximation.
            ClipActivation.QuickGelu => hidden * (hidden * 1.702).sigmoid(),
            ClipActivation.Gelu => nn.functional.gelu(hidden),
            ClipActivation.GeluTanh => nn.functional.gelu(hidden, GELU.Approximate.tanh),
            _ => throw new InvalidOperationException($"unknown activation {activation}"),
        };
        return fc2.call(hidden).MoveToOuterDisposeScope();
    }
}
