using System.IO.Compression;

namespace Diffusion.Tests.Tokenization;

public sealed class TokenizerDataTests
{
    [SkippableFact]
    public void SharedClipMergesFileHasTheExpectedMergeCount()
    {
        string? shared = TestEnvironment.SharedDataDir;
        Skip.If(shared is null, "../shared/data is not beside this clone (CI always has it)");

        using var stream = new GZipStream(File.OpenRead(Path.Combine(shared!, "clip", "bpe_simple_vocab_16e6.txt.gz")), CompressionMode.Decompress);
        using var reader = new StreamReader(stream);
        string? header = reader.ReadLine();
        int merges = 0;
        while (reader.ReadLine() is not null)
        {
            merges++;
        }

        Assert.Contains("#version", header, StringComparison.Ordinal); // the real file's first line is "bpe_simple_vocab_16e6.txt#version: 0.2
        // CLIP uses the first 49152 - 256 - 2 merges; the file holds at least that many.
        Assert.True(merges >= 48894, $"expected at least 48894 merges, found {merges}");
    }
}
