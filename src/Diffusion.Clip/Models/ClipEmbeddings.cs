using TorchSharp.Modules;

namespace Diffusion.Clip.Models;

/// <summary>
/// The tokens a CLIP transformer reads, plus learned position embeddings (Hugging Face <c>CLIPTextEmbeddings</c> and
/// <c>CLIPVisionEmbeddings</c>): token embeddings of the ids on the text side; on the vision side, the patch embedding
/// (a strided convolution without bias) behind a learned class token.
/// </summary>
/// <remarks>
/// <code>
/// text:   x = token_embedding(ids)                                   // [B, T, C]
/// vision: x = cat(class_embedding, patch_embedding(pixels) as rows)   // [B, 1 + P, C]
/// out = x + position_embedding(0 .. T−1)
/// </code>
/// The layers a side does not have are null and have no keys. Hugging Face also registers a non-persistent
/// <c>position_ids</c> buffer; here positions are made on the fly.
/// </remarks>
internal sealed class ClipEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Embedding? token_embedding;
    private readonly Conv2d? patch_embedding;
    private readonly Parameter? class_embedding;
    private readonly Embedding position_embedding;

    /// <summary>Creates the layers in Hugging Face's order (the order the random initialisation runs in).</summary>
    private ClipEmbeddings(string name, ClipTransformerConfig config, int positions, bool initialize, int? vocabSize, ClipVisionConfig? vision)
        : base(name)
    {
        int width = config.HiddenSize;
        token_embedding = vocabSize is { } vocab ? nn.Embedding(vocab, width) : null;
        if (vision is not null)
        {
            patch_embedding = nn.Conv2d(vision.NumChannels, width, kernel_size: vision.PatchSize, stride: vision.PatchSize, bias: false);
            class_embedding = nn.Parameter(initialize ? randn(width) * Math.Pow(width, -0.5) : zeros(width));
        }

        position_embedding = nn.Embedding(positions, width);
        if (initialize)
        {
            ClipInit.Normal(token_embedding?.weight ?? patch_embedding!.weight!, 0.02);
            ClipInit.Normal(position_embedding.weight!, 0.02);
        }

        RegisterComponents();
    }

    /// <summary>The text side's: token and position embeddings (<c>max_position_embeddings</c> positions).</summary>
    public static ClipEmbeddings Text(ClipTextConfig config, bool initialize) =>
        new("ClipTextEmbeddings", config, config.MaxPositionEmbeddings, initialize, config.VocabSize, vision: null);

    /// <summary>The vision side's: patch and class embeddings, a position for the class token and each patch.</summary>
    public static ClipEmbeddings Vision(ClipVisionConfig config, bool initialize) =>
        new("ClipVisionEmbeddings", config, config.NumPatches + 1, initialize, vocabSize: null, config);

    /// <summary>Embeds token ids <c>[B, T]</c> (text) or normalised pixels <c>[B, channels, S, S]</c> (vision).</summary>
    /// <returns><c>[B, T, C]</c> (vision: T = 1 + patches); the caller owns it.</returns>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor x = token_embedding is not null ? token_embedding.call(input) : ClassAndPatches(input); // [B, T, C]
        Tensor positions = arange(x.shape[1], dtype: int64, device: input.device); // [T]
        return (x + position_embedding.call(positions)).MoveToOuterDisposeScope(); // broadcast over B
    }

    private Tensor ClassAndPatches(Tensor pixelValues)
    {
        Tensor patches = patch_embedding!.call(pixelValues); // [B, C, H/p, W/p]
        patches = patches.flatten(2).transpose(1, 2); // [B, P, C]
        Tensor cls = class_embedding!.expand(pixelValues.shape[0], 1, -1); // [B, 1, C]
        return cat([cls, patches], 1); // [B, 1 + P, C]
    }
}
