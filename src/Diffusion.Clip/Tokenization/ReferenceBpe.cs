using System.Text;

namespace Diffusion.Clip;

/// <summary>
/// CLIP's own BPE loop (openai/CLIP <c>SimpleTokenizer.bpe</c>): repeatedly merge every occurrence of the
/// lowest-ranked adjacent pair. Used to build small vocabularies; the tokenizer itself runs
/// Microsoft.ML.Tokenizers' BPE, which a test checks against this loop.
/// </summary>
internal static class ReferenceBpe
{
    /// <summary>A piece's starting symbols: its UTF-8 bytes as byte-level characters, the last one ending in <c>&lt;/w&gt;</c>.</summary>
    public static List<string> Symbols(string piece)
    {
        string mapped = ByteLevelAlphabet.Encode(Encoding.UTF8.GetBytes(piece));
        var symbols = mapped.Select(c => c.ToString()).ToList();
        symbols[^1] += ClipVocabulary.EndOfWord;
        return symbols;
    }

    /// <summary>Applies <paramref name="ranks"/> to <paramref name="symbols"/> as CLIP does; returns the merged symbols.</summary>
    public static List<string> Merge(List<string> symbols, IReadOnlyDictionary<(string, string), int> ranks)
    {
        var word = new List<string>(symbols);
        while (word.Count > 1)
        {
            (string, string)? best = null;
            int bestRank = int.MaxValue;
            for (int i = 0; i + 1 < word.Count; i++)
            {
                if (ranks.TryGetValue((word[i], word[i + 1]), out int rank) && rank < bestRank)
                {
                    bestRank = rank;
                    best = (word[i], word[i + 1]);
                }
            }

            if (best is not { } pair)
            {
                break;
            }

            var merged = new List<string>(word.Count);
            for (int i = 0; i < word.Count; i++)
            {
                if (i + 1 < word.Count && word[i] == pair.Item1 && word[i + 1] == pair.Item2)
                {
                    merged.Add(pair.Item1 + pair.Item2);
                    i++;
                }
                else
                {
                    merged.Add(word[i]);
                }
            }

            word = merged;
        }

        return word;
    }
}
