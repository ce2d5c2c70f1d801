using Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models.Conditional;

/// <summary>Tiny conditional U-Nets and a text encoder without weights, for tests that run in a second.</summary>
internal static class ConditionalTestModels
{
    public const int ContextDim = 8;

    public static ConditionalUNetOptions Options(int? numClasses = null, int? contextDim = ContextDim) => new()
    {
        UNet = new UNetOptions { HiddenDims = [16, 32, 32], ImageSize = 8 },
        ContextDim = contextDim,
        NumClasses = numClasses,
        CrossAttentionHeads = 2,
        CrossAttentionHeadDim = 8,
    };

    /// <summary>Element-wise equality of two tensors of the same shape.</summary>
    public static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    /// <summary>A seeded network whose conditioning paths are switched on (they start at zero, which would hide them).</summary>
    public static ConditionalUNet UNet(long seed = 0, int? numClasses = null, int? contextDim = ContextDim)
    {
        manual_seed(seed);
        var unet = new ConditionalUNet(Options(numClasses, contextDim));
        OpenConditioning(unet, seed);
        return unet;
    }

    /// <summary>Gives the zero-initialised cross-attention outputs and class embedding random values.</summary>
    public static void OpenConditioning(nn.Module unet, long seed)
    {
        using var noGrad = no_grad();
        using var generator = new Generator((ulong)seed + 100);
        foreach ((string name, TorchSharp.Modules.Parameter p) in unet.named_parameters())
        {
            if (name.Contains("cross_attn.to_out", StringComparison.Ordinal) || name.StartsWith("class_embedding", StringComparison.Ordinal))
            {
                p.copy_(randn(p.shape, generator: generator) * 0.3);
            }
        }
    }
}

/// <summary>
/// A frozen "text encoder" without weights: each word (and each padding slot) gets a fixed pseudo-random vector
/// from a hash of (word, position), so equal texts give equal embeddings and different texts different ones.
/// </summary>
internal sealed class HashTextEncoder(int sequenceLength = 4, int embeddingDim = ConditionalTestModels.ContextDim) : ITextEncoder
{
    public int SequenceLength => sequenceLength;

    public int EmbeddingDim => embeddingDim;

    public int Calls { get; private set; }

    public Tensor Encode(IReadOnlyList<string> texts)
    {
        Calls++;
        using var scope = NewDisposeScope();
        var rows = new List<Tensor>();
        foreach (string text in texts)
        {
            string[] words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i < sequenceLength; i++)
            {
                string word = i < words.Length ? words[i] : "<pad>";
                using var generator = new Generator(Hash(word, i));
                rows.Add(randn([embeddingDim], generator: generator));
            }
        }

        return stack(rows).view(texts.Count, sequenceLength, embeddingDim).MoveToOuterDisposeScope();
    }

    private static ulong Hash(string word, int position)
    {
        ulong h = 14695981039346656037UL ^ (ulong)position;
        foreach (char c in word)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return h;
    }
}
