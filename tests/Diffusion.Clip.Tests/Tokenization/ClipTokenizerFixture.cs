using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Diffusion.Clip;

namespace Diffusion.Tests.Tokenization;

/// <summary>
/// CLIP's real vocabulary, written as a Hugging Face vocab.json + merges.txt pair by this test code
/// (independently of the library's own builder) from the shared OpenAI merges file; null without ../shared/data.
/// </summary>
public sealed class ClipTokenizerFixture : IDisposable
{
    private readonly TempDirectory? directory;

    public ClipTokenizerFixture()
    {
        string? shared = TestEnvironment.SharedDataDir;
        if (shared is null)
        {
            return;
        }

        BpeGzPath = Path.Combine(shared, "clip", "bpe_simple_vocab_16e6.txt.gz");
        CasesPath = Path.Combine(shared, "clip", "tokenizer_cases.json");
        directory = TestEnvironment.CreateTempDirectory();
        VocabPath = Path.Combine(directory.Path, "vocab.json");
        MergesPath = Path.Combine(directory.Path, "merges.txt");
        WriteHuggingFaceFiles(BpeGzPath, VocabPath, MergesPath);
        Tokenizer = ClipTokenizer.FromFiles(VocabPath, MergesPath);
    }

    public const string SkipReason = "../shared/data is not beside this clone (CI always has it)";

    public string? BpeGzPath { get; }

    public string? CasesPath { get; }

    public string? VocabPath { get; }

    public string? MergesPath { get; }

    public ClipTokenizer? Tokenizer { get; }

    public IEnumerable<(string Text, int[] Ids)> Cases()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(CasesPath!));
        return [.. doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => (c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray()))];
    }

    public void Dispose() => directory?.Dispose();

    // CLIP's layout (simple_tokenizer.py): bytes_to_unicode's characters, the same + "</w>",
    // one token per merge, then the two special tokens; 49,152 - 256 - 2 merges after the header line.
    private static void WriteHuggingFaceFiles(string gzPath, string vocabPath, string mergesPath)
    {
        var bs = new List<int>();
        bs.AddRange(Enumerable.Range('!', '~' - '!' + 1));
        bs.AddRange(Enumerable.Range('¡', '¬' - '¡' + 1));
        bs.AddRange(Enumerable.Range('®', 'ÿ' - '®' + 1));
        var cs = new List<int>(bs);
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            if (!bs.Contains(b))
            {
                bs.Add(b);
                cs.Add(256 + n++);
            }
        }

        var vocab = new List<string>(cs.Select(c => ((char)c).ToString()));
        vocab.AddRange(cs.Select(c => (char)c + "</w>"));
        using var gz = new GZipStream(File.OpenRead(gzPath), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        reader.ReadLine();
        var merges = new List<string>();
        while (merges.Count < 49152 - 256 - 2 && reader.ReadLine() is { } line)
        {
            merges.Add(line);
        }

        vocab.AddRange(merges.Select(m => m.Replace(" ", string.Empty, StringComparison.Ordinal)));
        vocab.Add("<|startoftext|>");
        vocab.Add("<|endoftext|>");
        File.WriteAllText(vocabPath, JsonSerializer.Serialize(vocab.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i)));
        File.WriteAllText(mergesPath, "#version: 0.2\n" + string.Join('\n', merges) + "\n");
    }
}
