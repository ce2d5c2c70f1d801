using System.Text;
using Diffusion.Clip;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Tokenization;

public sealed class ClipTokenizerTests(ClipTokenizerFixture fixture) : IClassFixture<ClipTokenizerFixture>
{
    [SkippableFact]
    public void MatchesClipsOwnTokenizerOnEveryReferenceCase()
    {
        Skip.If(fixture.Tokenizer is null, ClipTokenizerFixture.SkipReason);
        ClipTokenizer tokenizer = fixture.Tokenizer!;
        Assert.Equal(49408, tokenizer.VocabularySize);
        Assert.Equal(49406, tokenizer.StartOfTextId);
        Assert.Equal(49407, tokenizer.EndOfTextId);
        int count = 0;
        foreach ((string text, int[] ids) in fixture.Cases())
        {
            Assert.True(ids.SequenceEqual(tokenizer.Encode(text)), $"'{text}': expected [{string.Join(',', ids)}], got [{string.Join(',', tokenizer.Encode(text))}]");
            count++;
        }

        Assert.Equal(14, count);
    }

    [SkippableFact]
    public void OpenAiMergesFileGivesTheSameTokenizer()
    {
        Skip.If(fixture.Tokenizer is null, ClipTokenizerFixture.SkipReason);
        ClipTokenizer fromGz = ClipTokenizer.FromOpenAiBpe(fixture.BpeGzPath!);
        Assert.Equal(ClipTokenizer.OpenAiVocabularySize, fromGz.VocabularySize); // the merges it reads are counted from the constant
        Assert.Equal(fixture.Tokenizer!.VocabularySize, fromGz.VocabularySize);
        foreach ((string text, int[] ids) in fixture.Cases())
        {
            Assert.Equal(ids, fromGz.Encode(text));
        }
    }

    [SkippableFact]
    public void TruncationKeepsTheEndTokenAndPaddingUsesIt()
    {
        Skip.If(fixture.Tokenizer is null, ClipTokenizerFixture.SkipReason);
        ClipTokenizer tokenizer = fixture.Tokenizer!;
        // The reference's longest case fills the context exactly; a few more words make it overflow.
        (string fullText, int[] fullIds) = fixture.Cases().Single(c => c.Ids.Length == 77);
        Assert.Equal(fullIds, tokenizer.EncodePadded(fullText));
        string longText = fullText + " and then some more words";
        IReadOnlyList<int> untruncated = tokenizer.Encode(longText);
        Assert.True(untruncated.Count > 77, $"expected more than 77 ids; got {untruncated.Count}");
        int[] truncated = tokenizer.EncodePadded(longText);
        Assert.Equal(77, truncated.Length);
        Assert.Equal(untruncated.Take(76), truncated[..76]);
        Assert.Equal(49407, truncated[76]);

        int[] padded = tokenizer.EncodePadded("a red tulip");
        Assert.Equal([49406, 320, 736, 28389, 49407], padded[..5]);
        Assert.All(padded[5..], id => Assert.Equal(49407, id));

        using Tensor batch = tokenizer.Tokenize(["a red tulip", longText]);
        Assert.Equal([2L, 77L], batch.shape);
        Assert.Equal(ScalarType.Int64, batch.dtype);
        Assert.Equal(49407L, batch[1, 76].item<long>());
    }

    [SkippableFact]
    public void AnyUnicodeEncodesDeterministicallyWithinTheVocabulary()
    {
        Skip.If(fixture.Tokenizer is null, ClipTokenizerFixture.SkipReason);
        ClipTokenizer tokenizer = fixture.Tokenizer!;
        var random = new Random(1234);
        var texts = new List<string>
        {
            "\uD800 lone high", "lone low \uDC00", "\u0000\u0001\u001F\u007F", "ΣΊΣΥΦΟΣ ΟΔΟΣ", "İstanbul",
            "𝐀𝐁𝐂 𠀀𠀁", "e\u0301\u0301\u0301", "ﬁne “quotes” ‘single’", "ＦＵＬＬ　ｗｉｄｔｈ", "<|endoftext|> inside",
            "&amp;amp; &lt;b&gt;", "\r\n\t\v\f\u2028\u2029\u0085", "مرحبا بالعالم", "🏳️‍🌈👨‍👩‍👧", new string('x', 5000),
        };
        for (int i = 0; i < 200; i++)
        {
            var sb = new StringBuilder();
            int length = random.Next(0, 40);
            for (int j = 0; j < length; j++)
            {
                // Mostly valid code points, now and then a lone surrogate.
                int cp = random.Next(0, 8) == 0 ? random.Next(0xD800, 0xE000) : random.Next(0, 0x30000);
                sb.Append(cp is >= 0xD800 and < 0xE000 ? ((char)cp).ToString() : char.ConvertFromUtf32(cp));
            }

            texts.Add(sb.ToString());
        }

        foreach (string text in texts)
        {
            IReadOnlyList<int> first = tokenizer.Encode(text);
            Assert.Equal(first, tokenizer.Encode(text));
            Assert.Equal(49406, first[0]);
            Assert.Equal(49407, first[^1]);
            Assert.All(first, id => Assert.InRange(id, 0, 49407));
            int[] padded = tokenizer.EncodePadded(text);
            Assert.Equal(77, padded.Length);
            Assert.Equal(49407, padded[^1]);
        }
    }

    [SkippableFact]
    public void DecodeInvertsEncodeForCleanText()
    {
        Skip.If(fixture.Tokenizer is null, ClipTokenizerFixture.SkipReason);
        ClipTokenizer tokenizer = fixture.Tokenizer!;
        foreach (string text in new[] { "a photo of a cat", "a purple rose with long stem", "café naïve résumé", "emoji 🌷🌻 flowers" })
        {
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        }

        Assert.Equal("a yellow sunflower !!", tokenizer.Decode(tokenizer.Encode("A Yellow SUNFLOWER!!")));
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([49408]));
    }

    [SkippableFact]
    public void LibraryBpeAgreesWithClipsOwnMergeLoop()
    {
        Skip.If(fixture.Tokenizer is null, ClipTokenizerFixture.SkipReason);
        ClipTokenizer tokenizer = fixture.Tokenizer!;
        var vocabulary = ClipVocabulary.FromOpenAiBpe(fixture.BpeGzPath!);
        var ranks = vocabulary.Merges.Select((m, i) => (m, i)).ToDictionary(p => p.m, p => p.i);
        string[] words = ["antidisestablishmentarianism", "chrysanthemum", "sunflower", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "aaaaaaaaaaaaaaaa",
            "ababababab", "supercalifragilisticexpialidocious", "日本語のテキスト", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "llllll", "mississippi", "!!!???...", "🌷🌻"];
        foreach (string word in words)
        {
            int[] expected = [.. ReferenceBpe.Merge(ReferenceBpe.Symbols(word), ranks).Select(t => vocabulary.Tokens[t])];
            Assert.Equal(expected, tokenizer.Encode(word).Skip(1).SkipLast(1));
        }
    }

    [SkippableFact]
    public void SaveWritesFilesThatReopenToTheSameTokenizer()
    {
        Skip.If(fixture.Tokenizer is null, ClipTokenizerFixture.SkipReason);
        using var dir = TestEnvironment.CreateTempDirectory();
        ClipTokenizer.FromOpenAiBpe(fixture.BpeGzPath!).Save(dir.Path);
        Assert.Equal(File.ReadAllText(fixture.MergesPath!), File.ReadAllText(Path.Combine(dir.Path, "merges.txt")));
        ClipTokenizer reopened = ClipTokenizer.FromFiles(Path.Combine(dir.Path, "vocab.json"), Path.Combine(dir.Path, "merges.txt"), contextLength: 16);
        Assert.Equal(16, reopened.ContextLength);
        foreach ((string text, int[] ids) in fixture.Cases().Where(c => c.Ids.Length <= 16))
        {
            Assert.Equal(ids, reopened.Encode(text));
        }
    }
}
