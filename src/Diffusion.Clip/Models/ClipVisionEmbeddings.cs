using TorchSharp.Modules;

namespace Diffusion.Clip.Models;

/// <summary>
/// Patch embedding (a strided convolution without bias), a learned class token in front, plus learned
/// position embeddings (Hugging Face <c>CLIPVisionEmbeddings</c>).
/// </summary>
internal sealed class ClipVisionEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d patch_embedding;
    private readonly Parameter class_embedding;
    private readonly Embedding position_embedding;

    public ClipVisionEmbeddings(ClipVisionConfig config, bool initialize)
        : base(nameof(ClipVisionEmbeddings))
    {
        patch_embedding = nn.Conv2d(config.NumChannels, config.HiddenSize, kernel_size: config.PatchSize, stride: config.PatchSize, bias: false);
        class_embedding = nn.Parameter(initialize ? randn(config.HiddenSize) * Math.Pow(config.HiddenSize, -0.5) : zeros(config.HiddenSize));
        position_embedding = nn.Embedding(config.NumPatches + 1, config.HiddenSize);
        if (initialize)
        {
            ClipInit.Normal(patch_embedding.weight!, 0.02);
            ClipInit.Normal(position_embedding.weight!, 0.02);
        }

        RegisterComponents();
    }

    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        long batch = pixelValues.shape[0];
        Tensor patches = patch_embedding.call(pixelValues); // [B, C, H/p, W/p]
        patches = patches.flatten(2).transpose(1, 2); // [B, P, C]
        Tensor cls = class_embedding.expand(batch, 1, -1); // [B, 1, C]
        Tensor tokens = cat([cls, patches], 1); // [B, 1 + P, C]
        return (tokens + position_embedding.weight!).MoveToOuterDisposeScope(); // positions 0..P, broadcast over B
    }
}
