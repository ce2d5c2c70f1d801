using Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Training;

/// <summary>A tiny text- and class-conditional U-Net and a text encoder without weights, for conditional training tests.</summary>
internal static class ConditionalSetup
{
    public const int ContextDim = 8;

    public static ConditionalUNet Model(long seed = 0, int? numClasses = null)
    {
        manual_seed(seed);
        return new ConditionalUNet(new ConditionalUNetOptions
        {
            UNet = new UNetOptions { HiddenDims = [16, 32, 32], ImageSize = TinySetup.ImageSize },
            ContextDim = ContextDim,
            NumClasses = numClasses,
            CrossAttentionHeads = 2,
            CrossAttentionHeadDim = 8,
        });
    }
}

/// <summary>Each word and padding slot gets a fixed vector from a hash of (word, position); counts its calls.</summary>
internal sealed class WordHashEncoder : ITextEncoder
{
    public int SequenceLength => 4;

    public int EmbeddingDim => ConditionalSetup.ContextDim;

    public List<int> BatchSizes { get; } = [];

    public Tensor Encode(IReadOnlyList<string> texts)
    {
        BatchSizes.Add(texts.Count);
        var values = new float[texts.Count * SequenceLength * EmbeddingDim];
        for (int n = 0; n < texts.Count; n++)
        {
            string[] words = texts[n].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i < SequenceLength; i++)
            {
                var random = Diffusion.Data.DeterministicRandom.FromKeys(i, StableHash(i < words.Length ? words[i] : "<pad>"));
                for (int d = 0; d < EmbeddingDim; d++)
                {
                    values[(((n * SequenceLength) + i) * EmbeddingDim) + d] = (float)random.NextDouble(-1, 1);
                }
            }
        }

        return tensor(values, [texts.Count, SequenceLength, EmbeddingDim]);
    }

    // string.GetHashCode changes from process to process; FNV-1a does not.
    private static long StableHash(string word)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in word)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return (long)h;
    }
}
