using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Diffusion.IO;

namespace Diffusion.Clip;

/// <summary>A BPE vocabulary (token → id) with its ranked merges: what <c>vocab.json</c> + <c>merges.txt</c> hold.</summary>
/// <param name="tokens">Token → id.</param>
/// <param name="merges">The merges, highest rank first.</param>
internal sealed class ClipVocabulary(Dictionary<string, int> tokens, List<(string Left, string Right)> merges)
{
    /// <summary>CLIP's start-of-text token.</summary>
    public const string StartOfText = "<|startoftext|>";

    /// <summary>CLIP's end-of-text token.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>The end-of-word marker appended to the last symbol of every word.</summary>
    public const string EndOfWord = "</w>";

    /// <summary>Merges CLIP takes from OpenAI's file: what its vocabulary holds beside the 256 byte tokens, the same
    /// 256 ending a word, and the two special tokens (48,894).</summary>
    public const int OpenAiMergeCount = ClipTokenizer.OpenAiVocabularySize - (2 * 256) - 2;

    private const string MergesHeader = "#version: 0.2";

    public Dictionary<string, int> Tokens { get; } = tokens;

    public List<(string Left, string Right)> Merges { get; } = merges;

    /// <summary>The layout CLIP builds from a merges list: 256 byte symbols, the same with <c>&lt;/w&gt;</c>, one token per merge, then the two special tokens.</summary>
    public static ClipVocabulary FromMerges(List<(string Left, string Right)> merges)
    {
        var tokens = new Dictionary<string, int>(StringComparer.Ordinal);
        void Add(string token) => tokens.TryAdd(token, tokens.Count);
        foreach (char c in ByteLevelAlphabet.VocabularyOrder)
        {
            Add(c.ToString());
        }

        foreach (char c in ByteLevelAlphabet.VocabularyOrder)
        {
            Add(c + EndOfWord);
        }

        foreach ((string left, string right) in merges)
        {
            Add(left + right);
        }

        Add(StartOfText);
        Add(EndOfText);
        return new ClipVocabulary(tokens, merges);
    }

    /// <summary>Reads OpenAI's <c>bpe_simple_vocab_16e6.txt.gz</c> (a header line, then merges).</summary>
    public static ClipVocabulary FromOpenAiBpe(string path)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        var merges = new List<(string, string)>(OpenAiMergeCount);
        try
        {
            _ = reader.ReadLine(); // "bpe_simple_vocab_16e6.txt#version: 0.2"
            int lineNumber = 1;
            while (merges.Count < OpenAiMergeCount && reader.ReadLine() is { } line)
            {
                lineNumber++;
                merges.Add(ParseMerge(line, path, lineNumber));
            }
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: not a gzip file of BPE merges: {e.Message}", e); // from GZipStream
        }

        if (merges.Count < OpenAiMergeCount)
        {
            throw new InvalidDataException($"{path}: expected at least {OpenAiMergeCount} merges after the header line; found {merges.Count}.");
        }

        return FromMerges(merges);
    }

    /// <summary>Reads a Hugging Face <c>vocab.json</c> + <c>merges.txt</c> pair.</summary>
    public static ClipVocabulary FromFiles(string vocabJsonPath, string mergesTxtPath)
    {
        Dictionary<string, int>? tokens;
        try
        {
            tokens = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(vocabJsonPath));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{vocabJsonPath}: not a JSON object of token → id: {e.Message}", e);
        }

        if (tokens is null || tokens.Count == 0)
        {
            throw new InvalidDataException($"{vocabJsonPath}: the vocabulary is empty.");
        }

        var merges = new List<(string, string)>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(mergesTxtPath, Encoding.UTF8))
        {
            lineNumber++;
            if ((lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)) || line.Length == 0)
            {
                continue;
            }

            merges.Add(ParseMerge(line, mergesTxtPath, lineNumber));
        }

        return new ClipVocabulary(new Dictionary<string, int>(tokens, StringComparer.Ordinal), merges);
    }

    /// <summary>
    /// A small vocabulary in which every piece of <paramref name="texts"/> (after CLIP's clean-up and
    /// splitting) is a single token, on top of the 512 byte-level symbols, so any other text still encodes.
    /// </summary>
    public static ClipVocabulary FromCorpus(IEnumerable<string> texts)
    {
        var merges = new List<(string, string)>();
        var ranks = new Dictionary<(string, string), int>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string text in texts)
        {
            foreach (string piece in ClipPreTokenizer.Split(ClipTextCleaner.Clean(text)))
            {
                if (piece is StartOfText or EndOfText || !seen.Add(piece))
                {
                    continue;
                }

                // Merges added after all earlier ones fire only once the earlier ones are done, so the
                // word ends as one token without changing how any earlier word encodes.
                List<string> symbols = ReferenceBpe.Merge(ReferenceBpe.Symbols(piece), ranks);
                while (symbols.Count > 1)
                {
                    (string, string) pair = (symbols[0], symbols[1]);
                    ranks.Add(pair, merges.Count);
                    merges.Add(pair);
                    symbols[0] += symbols[1];
                    symbols.RemoveAt(1);
                }
            }
        }

        return FromMerges(merges);
    }

    /// <summary>Writes <c>vocab.json</c> and <c>merges.txt</c> into <paramref name="directory"/>, each atomically.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, options))
        {
            writer.WriteStartObject();
            foreach ((string token, int id) in Tokens.OrderBy(kv => kv.Value))
            {
                writer.WriteNumber(token, id);
            }

            writer.WriteEndObject();
        }

        AtomicFile.WriteAllBytes(Path.Combine(directory, "vocab.json"), buffer.ToArray());
        var merges = new StringBuilder(MergesHeader).Append('\n');
        foreach ((string left, string right) in Merges)
        {
            merges.Append(left).Append(' ').Append(right).Append('\n');
        }

        AtomicFile.WriteAllText(Path.Combine(directory, "merges.txt"), merges.ToString());
    }

    private static (string, string) ParseMerge(string line, string path, int lineNumber)
    {
        string[] parts = line.Split(' ');
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
        {
            throw new InvalidDataException($"{path}: line {lineNumber} is not a merge of two symbols separated by one space: '{line}'.");
        }

        return (parts[0], parts[1]);
    }
}
