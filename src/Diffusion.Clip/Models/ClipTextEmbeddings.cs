using TorchSharp.Modules;

namespace Diffusion.Clip.Models;

/// <summary>Token plus learned position embeddings (Hugging Face <c>CLIPTextEmbeddings</c>).</summary>
/// <remarks>Hugging Face also registers a non-persistent <c>position_ids</c> buffer; here positions are made on the fly.</remarks>
internal sealed class ClipTextEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Embedding token_embedding;
    private readonly Embedding position_embedding;

    public ClipTextEmbeddings(ClipTextConfig config, bool initialize)
        : base(nameof(ClipTextEmbeddings))
    {
        token_embedding = nn.Embedding(config.VocabSize, config.HiddenSize);
        position_embedding = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        if (initialize)
        {
            ClipInit.Normal(token_embedding.weight!, 0.02);
            ClipInit.Normal(position_embedding.weight!, 0.02);
        }

        RegisterComponents();
    }

    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        long tokens = inputIds.shape[1];
        Tensor positions = arange(tokens, dtype: int64, device: inputIds.device); // [T]
        return (token_embedding.call(inputIds) + position_embedding.call(positions)).MoveToOuterDisposeScope(); // [B, T, C]
    }
}
