using System.Text;
using Diffusion.Clip;
using Xunit.Abstractions;

namespace Diffusion.Tests.Fuzz;

/// <summary>
/// Seeded fuzzing of a tokenizer's <c>vocab.json</c> + <c>merges.txt</c>: a damaged pair must open (and then
/// encode and decode any text), or be refused by <see cref="ClipTokenizer.FromFiles"/> with an
/// <see cref="InvalidDataException"/> naming one of the files — never an allocation sized by a number in the file.
/// </summary>
public sealed class ClipTokenizerFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void DamagedVocabularyAndMergesOpenOrAreRefusedWithTheirPath()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        ClipTokenizer.FromCorpus(["a red tulip", "an orange poppy", "a white daisy"]).Save(temp.Path);
        string vocab = File.ReadAllText(Path.Combine(temp.Path, "vocab.json"));
        string merges = File.ReadAllText(Path.Combine(temp.Path, "merges.txt"));
        ClipTokenizer? opened = null;
        var runner = new FuzzRunner("clip tokenizer", seed: 14, output)
        {
            // Random bytes are not a vocabulary; random text may still be a (useless) list of merges, so only vocab.json's.
            MustRefuseWith = kind => kind.StartsWith("vocab-", StringComparison.Ordinal) ? FuzzRunner.AlwaysBroken(kind, lengthChecked: false) : null,
        };
        runner.Run(
            600,
            temp.Path,
            random =>
            {
                string v = vocab, m = merges, kind;
                switch (random.Next(4))
                {
                    case 0:
                        (v, kind) = JsonMutator.Mutate(vocab, random);
                        kind = "vocab-json-" + kind;
                        break;
                    case 1:
                        (byte[] bytes, kind) = ByteMutator.Mutate(Encoding.UTF8.GetBytes(vocab), random, head: vocab.Length);
                        return ([("vocab.json", bytes), ("merges.txt", Encoding.UTF8.GetBytes(m))], "vocab-" + kind);
                    case 2:
                        (v, kind) = (ChangeId(vocab, random), "vocab-id");
                        break;
                    default:
                        (byte[] mergeBytes, kind) = ByteMutator.Mutate(Encoding.UTF8.GetBytes(merges), random, head: merges.Length);
                        return ([("vocab.json", Encoding.UTF8.GetBytes(v)), ("merges.txt", mergeBytes)], "merges-" + kind);
                }

                return ([("vocab.json", Encoding.UTF8.GetBytes(v)), ("merges.txt", Encoding.UTF8.GetBytes(m))], kind);
            },
            paths => opened = ClipTokenizer.FromFiles(paths[0], paths[1], contextLength: 16),
            _ =>
            {
                // What opened must work on any text, including words it has no merges for.
                foreach (string text in new[] { "a red tulip", "an unseen Word, 123 ✿ ünïcode", "" })
                {
                    IReadOnlyList<int> ids = opened!.Encode(text);
                    Assert.NotNull(opened.Decode(ids));
                    using var tokens = opened.Tokenize(new[] { text });
                }
            });
    }

    // Sets one token's id to an extreme: negative, the largest int, beyond the vocabulary, or another token's.
    private static string ChangeId(string vocab, Random random)
    {
        string[] values = ["-1", "2147483647", "2147483646", "1000000000", "65536", "0", "7"];
        int at = vocab.IndexOf("\":", random.Next(vocab.Length / 2), StringComparison.Ordinal);
        if (at < 0)
        {
            return vocab;
        }

        int end = vocab.IndexOfAny([',', '}'], at);
        return vocab[..(at + 2)] + values[random.Next(values.Length)] + vocab[end..];
    }
}
