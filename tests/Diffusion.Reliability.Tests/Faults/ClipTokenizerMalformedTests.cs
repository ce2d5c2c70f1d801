using Diffusion.Clip;

namespace Diffusion.Tests.Faults;

/// <summary>Hand-written bad tokenizer files: each is an <see cref="InvalidDataException"/> naming the file, before any table sized by an id is allocated.</summary>
public sealed class ClipTokenizerMalformedTests
{
    [Theory]
    [InlineData("2147483647", "has id 2147483647")]
    [InlineData("1000000000", "has id 1000000000")]
    [InlineData("-1", "has id -1")]
    [InlineData("0", "share id 0")]
    public void AnIdOutsideTheVocabularyOrRepeatedIsRefused(string id, string expected)
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        ClipTokenizer.FromCorpus(["a red tulip"]).Save(temp.Path);
        string vocab = Path.Combine(temp.Path, "vocab.json");
        string text = File.ReadAllText(vocab);
        int at = text.IndexOf("\"tulip</w>\":", StringComparison.Ordinal) + "\"tulip</w>\":".Length;
        int end = text.IndexOfAny([',', '}'], at);
        File.WriteAllText(vocab, text[..at] + id + text[end..]);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFiles(vocab, Path.Combine(temp.Path, "merges.txt")));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
        Assert.StartsWith(vocab + ":", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("vocab.json", "[1, 2]", "not a JSON object of token")]
    [InlineData("vocab.json", "{}", "the vocabulary is empty")]
    [InlineData("vocab.json", "{\"a\": 1.5}", "not a JSON object of token")]
    [InlineData("merges.txt", "#version: 0.2\na b c\n", "line 2 is not a merge of two symbols")]
    [InlineData("merges.txt", "#version: 0.2\nzz qq\n", "the merges do not fit the vocabulary")]
    public void MalformedFilesNameTheFile(string file, string content, string expected)
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        ClipTokenizer.FromCorpus(["a red tulip"]).Save(temp.Path);
        string path = Path.Combine(temp.Path, file);
        File.WriteAllText(path, content);

        var e = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFiles(Path.Combine(temp.Path, "vocab.json"), Path.Combine(temp.Path, "merges.txt")));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(temp.Path, e.Message, StringComparison.Ordinal);
    }
}
