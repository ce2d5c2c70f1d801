using Diffusion.Clip;

namespace Diffusion.Tests.Tokenization;

public sealed class ClipTokenizerCorpusTests
{
    private static readonly string[] Captions = ["a red tulip", "a yellow daisy", "a lip", "tulips and lips", "A RED ROSE!"];

    [Fact]
    public void EveryCorpusWordIsOneTokenAndTheSpecialTokensComeLast()
    {
        ClipTokenizer tokenizer = ClipTokenizer.FromCorpus(Captions, contextLength: 8);
        Assert.Equal(tokenizer.VocabularySize - 2, tokenizer.StartOfTextId);
        Assert.Equal(tokenizer.VocabularySize - 1, tokenizer.EndOfTextId);
        foreach (string word in new[] { "a", "red", "tulip", "yellow", "daisy", "lip", "tulips", "and", "lips", "rose", "!" })
        {
            Assert.Equal(3, tokenizer.Encode(word).Count);
        }

        Assert.Equal(5, tokenizer.Encode("a red tulip").Count);
        Assert.Equal("a red tulip", tokenizer.Decode(tokenizer.Encode("A  Red\tTulip")));
        // A word outside the corpus still encodes, in pieces.
        Assert.Equal("violet", tokenizer.Decode(tokenizer.Encode("violet")));
        Assert.True(tokenizer.Encode("violet").Count > 3);
    }

    [Fact]
    public void SavedCorpusTokenizerReopens()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        ClipTokenizer tokenizer = ClipTokenizer.FromCorpus(Captions, contextLength: 8);
        tokenizer.Save(dir.Path);
        ClipTokenizer reopened = ClipTokenizer.FromFiles(Path.Combine(dir.Path, "vocab.json"), Path.Combine(dir.Path, "merges.txt"), 8);
        Assert.Equal(tokenizer.VocabularySize, reopened.VocabularySize);
        Assert.Equal(tokenizer.EncodePadded("tulips and a yellow rose"), reopened.EncodePadded("tulips and a yellow rose"));
    }

    [Fact]
    public void MalformedFilesNameThePath()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        ClipTokenizer.FromCorpus(Captions).Save(dir.Path);
        string vocab = Path.Combine(dir.Path, "vocab.json");
        string merges = Path.Combine(dir.Path, "merges.txt");

        File.AppendAllText(merges, "one-symbol-only\n");
        var e = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFiles(vocab, merges));
        Assert.Contains(merges, e.Message, StringComparison.Ordinal);

        ClipTokenizer.FromCorpus(Captions).Save(dir.Path);
        File.WriteAllText(vocab, "[1, 2");
        e = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFiles(vocab, merges));
        Assert.Contains(vocab, e.Message, StringComparison.Ordinal);

        File.WriteAllText(vocab, "{\"a\": 0}");
        e = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFiles(vocab, merges));
        Assert.Contains("<|startoftext|>", e.Message, StringComparison.Ordinal);

        string notGzip = Path.Combine(dir.Path, "bpe.txt.gz");
        File.WriteAllText(notGzip, "plain text");
        e = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromOpenAiBpe(notGzip));
        Assert.Contains(notGzip, e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => ClipTokenizer.FromFiles(vocab, merges, contextLength: 1));
    }
}
