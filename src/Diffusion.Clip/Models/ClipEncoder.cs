using TorchSharp.Modules;

namespace Diffusion.Clip.Models;

/// <summary>A stack of transformer blocks (Hugging Face <c>CLIPEncoder</c>; keys <c>layers.{i}.*</c>).</summary>
internal sealed class ClipEncoder : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<ClipEncoderLayer> layers;

    public ClipEncoder(int width, int intermediate, int heads, int count, ClipActivation activation, double eps, bool causal, bool initialize)
        : base(nameof(ClipEncoder))
    {
        layers = new ModuleList<ClipEncoderLayer>([.. Enumerable.Range(0, count)
            .Select(_ => new ClipEncoderLayer(width, intermediate, heads, count, activation, eps, causal, initialize))]);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor h = x;
        foreach (ClipEncoderLayer layer in layers)
        {
            h = layer.call(h); // [B, T, C]
        }

        return h.MoveToOuterDisposeScope();
    }
}
