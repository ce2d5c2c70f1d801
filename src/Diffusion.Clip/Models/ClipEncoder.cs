using TorchSharp.Modules;

namespace Diffusion.Clip.Models;

/// <summary>A stack of transformer blocks (Hugging Face <c>CLIPEncoder</c>; keys <c>layers.{i}.*</c>), the part of the
/// text and the vision transformer that <see cref="ClipTransformerConfig"/> describes.</summary>
internal sealed class ClipEncoder : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<ClipEncoderLayer> layers;

    public ClipEncoder(ClipTransformerConfig config, bool causal, bool initialize)
        : base(nameof(ClipEncoder))
    {
        layers = new ModuleList<ClipEncoderLayer>([.. Enumerable.Range(0, config.NumHiddenLayers)
            .Select(_ => new ClipEncoderLayer(config, causal, initialize))]);
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
