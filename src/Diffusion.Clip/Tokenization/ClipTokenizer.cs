using System.Text;
using Microsoft.ML.Tokenizers;

namespace Diffusion.Clip;

/// <summary>
/// CLIP's byte-level BPE tokenizer: the same clean-up, lower case, splitting pattern, byte-to-character
/// map, <c>&lt;/w&gt;</c> word ends and merges as openai/CLIP's <c>SimpleTokenizer</c>, framed by
/// <c>&lt;|startoftext|&gt;</c> (49406) and <c>&lt;|endoftext|&gt;</c> (49407) and padded or truncated
/// to <see cref="ContextLength"/>.
/// </summary>
/// <remarks>
/// The merges run on Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>; the clean-up, the split and
/// the byte map are CLIP's own and done here, piece by piece, so that the library's generic
/// pre-tokenizer and byte-level mode (GPT-2's conventions) never touch the text. Instances are immutable.
/// </remarks>
public sealed class ClipTokenizer
{
    /// <summary>
    /// CLIP's context length, the factories' default: 77 ids a text, start and end tokens included, as many as the
    /// position table of OpenAI's CLIP text encoders has rows (<see cref="ClipTextConfig.MaxPositionEmbeddings"/>).
    /// </summary>
    public const int DefaultContextLength = 77;

    /// <summary>
    /// Ids in OpenAI's CLIP vocabulary, which Stable Diffusion's tokenizers share: 256 byte tokens, the same 256 ending a
    /// word, 48,894 merges, then <c>&lt;|startoftext|&gt;</c> and <c>&lt;|endoftext|&gt;</c>: 49,408.
    /// </summary>
    public const int OpenAiVocabularySize = 49408;

    private readonly ClipVocabulary vocabulary;
    private readonly BpeTokenizer bpe;
    private readonly string?[] tokenById;

    private ClipTokenizer(ClipVocabulary vocabulary, int contextLength, string source, string? padToken = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        this.vocabulary = vocabulary;
        ContextLength = contextLength;
        StartOfTextId = RequireToken(ClipVocabulary.StartOfText, source);
        EndOfTextId = RequireToken(ClipVocabulary.EndOfText, source);
        PadId = padToken is null ? EndOfTextId : RequireToken(padToken, source);
        foreach (char c in ByteLevelAlphabet.VocabularyOrder)
        {
            // Without these, BPE would silently drop characters it cannot start from.
            RequireToken(c.ToString(), source);
            RequireToken(c + ClipVocabulary.EndOfWord, source);
        }

        // One id per token, 0 … count − 1 (as every vocab.json is): checked before the table is sized, so an id
        // in a damaged file cannot ask for gigabytes.
        int count = vocabulary.Tokens.Count;
        foreach ((string token, int id) in vocabulary.Tokens)
        {
            if (id < 0 || id >= count)
            {
                throw new InvalidDataException($"{source}: token '{token}' has id {id}; the ids of {count} tokens must lie in [0, {count}).");
            }
        }

        tokenById = new string[count];
        foreach ((string token, int id) in vocabulary.Tokens)
        {
            if (tokenById[id] is { } other)
            {
                throw new InvalidDataException($"{source}: tokens '{other}' and '{token}' share id {id}.");
            }

            tokenById[id] = token;
        }

        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocabulary.Tokens)
            {
                Merges = vocabulary.Merges.Select(m => m.Left + " " + m.Right),
                EndOfWordSuffix = ClipVocabulary.EndOfWord,
            });
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"{source}: the merges do not fit the vocabulary: {e.Message}", e);
        }
    }

    /// <summary>Length of every encoded sequence from <see cref="EncodePadded"/> and <see cref="Tokenize"/> (77 for CLIP).</summary>
    public int ContextLength { get; }

    /// <summary>Number of ids the vocabulary uses (largest id + 1; <see cref="OpenAiVocabularySize"/> for CLIP).</summary>
    public int VocabularySize => tokenById.Length;

    /// <summary>Id of <c>&lt;|startoftext|&gt;</c> (49406 for CLIP).</summary>
    public int StartOfTextId { get; }

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c> (49407 for CLIP); also the padding id unless the tokenizer's files name another.</summary>
    public int EndOfTextId { get; }

    /// <summary>
    /// Id that fills a sequence after its end-of-text token: <see cref="EndOfTextId"/> for OpenAI's CLIP and Stable Diffusion 1,
    /// the id of "!" (0) for Stable Diffusion 2's tokenizer, whose <c>pad_token</c> is "!" (<see cref="FromPretrained"/> reads it).
    /// </summary>
    public int PadId { get; }

    /// <summary>Opens a Hugging Face tokenizer pair (<c>vocab.json</c>, <c>merges.txt</c>), e.g. from openai/clip-vit-base-patch32.</summary>
    /// <param name="vocabJsonPath">JSON object of token → id.</param>
    /// <param name="mergesTxtPath">Merges, one "left right" pair a line, after an optional <c>#version</c> line.</param>
    /// <param name="contextLength">Sequence length after padding or truncation; at least 2. The default is 77.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or the two do not fit together.</exception>
    public static ClipTokenizer FromFiles(string vocabJsonPath, string mergesTxtPath, int contextLength = DefaultContextLength)
    {
        ArgumentException.ThrowIfNullOrEmpty(vocabJsonPath);
        ArgumentException.ThrowIfNullOrEmpty(mergesTxtPath);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        return new ClipTokenizer(ClipVocabulary.FromFiles(vocabJsonPath, mergesTxtPath), contextLength, vocabJsonPath);
    }

    /// <summary>
    /// Opens a Hugging Face <c>CLIPTokenizer</c> folder, such as the <c>tokenizer/</c> folder of a Stable Diffusion download:
    /// <c>vocab.json</c> and <c>merges.txt</c>, with the context length from <c>tokenizer_config.json</c>'s <c>model_max_length</c>
    /// (77 when absent) and the padding token from <c>pad_token</c> in <c>special_tokens_map.json</c> or <c>tokenizer_config.json</c>
    /// (a string or an <c>AddedToken</c> object; <c>&lt;|endoftext|&gt;</c> when absent).
    /// </summary>
    /// <param name="directory">The folder.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>vocab.json</c> or <c>merges.txt</c> is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, <c>model_max_length</c> is below 2 or above 4096, or the padding token is not in the vocabulary; the message names the file.</exception>
    public static ClipTokenizer FromPretrained(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Tokenizer folder not found: {directory}");
        }

        string vocab = Path.Combine(directory, "vocab.json"), merges = Path.Combine(directory, "merges.txt");
        foreach (string path in new[] { vocab, merges })
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"{directory} has no {Path.GetFileName(path)}; a CLIPTokenizer folder holds vocab.json and merges.txt.", path);
            }
        }

        (int contextLength, string? padToken) = TokenizerFiles.Read(directory);
        return new ClipTokenizer(ClipVocabulary.FromFiles(vocab, merges), contextLength, vocab, padToken);
    }

    /// <summary>Opens OpenAI's <c>bpe_simple_vocab_16e6.txt.gz</c> and builds CLIP's 49,408-token vocabulary from it.</summary>
    /// <param name="bpeGzPath">The gzip file of merges (a header line first).</param>
    /// <param name="contextLength">Sequence length after padding or truncation; at least 2. The default is 77.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="InvalidDataException">The file is not a gzip file of at least 48,894 merges.</exception>
    public static ClipTokenizer FromOpenAiBpe(string bpeGzPath, int contextLength = DefaultContextLength)
    {
        ArgumentException.ThrowIfNullOrEmpty(bpeGzPath);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        return new ClipTokenizer(ClipVocabulary.FromOpenAiBpe(bpeGzPath), contextLength, bpeGzPath);
    }

    /// <summary>
    /// Builds a small CLIP-style vocabulary in which every word of <paramref name="texts"/> is one token
    /// (after the same clean-up and split): the 512 byte-level symbols, the merges those words need, and
    /// the two special tokens last, so the end-of-text id is the largest id, as CLIP's pooling expects.
    /// Other text still encodes, as smaller pieces. Meant for tiny models trained from scratch.
    /// </summary>
    /// <param name="texts">Captions or words.</param>
    /// <param name="contextLength">Sequence length after padding or truncation; at least 2. The default is 77.</param>
    /// <returns>The tokenizer.</returns>
    public static ClipTokenizer FromCorpus(IEnumerable<string> texts, int contextLength = DefaultContextLength)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        return new ClipTokenizer(ClipVocabulary.FromCorpus(texts), contextLength, "corpus");
    }

    /// <summary>Writes <c>vocab.json</c> and <c>merges.txt</c> into <paramref name="directory"/> (created if needed; files written atomically).</summary>
    /// <param name="directory">The destination folder.</param>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        vocabulary.Save(directory);
    }

    /// <summary>Encodes <paramref name="text"/> to ids, start and end tokens included, without truncation or padding.</summary>
    /// <param name="text">Any text; every Unicode string encodes.</param>
    /// <returns>The ids.</returns>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int> { StartOfTextId };
        foreach (string piece in ClipPreTokenizer.Split(ClipTextCleaner.Clean(text)))
        {
            if (piece == ClipVocabulary.StartOfText || piece == ClipVocabulary.EndOfText)
            {
                ids.Add(vocabulary.Tokens[piece]); // CLIP maps the special tokens written in text to their ids
                continue;
            }

            ids.AddRange(bpe.EncodeToIds(ByteLevelAlphabet.Encode(Encoding.UTF8.GetBytes(piece)), considerPreTokenization: false, considerNormalization: false));
        }

        ids.Add(EndOfTextId);
        return ids;
    }

    /// <summary>
    /// Encodes <paramref name="text"/> to exactly <see cref="ContextLength"/> ids: truncated with the end
    /// token kept last (as <c>clip.tokenize(truncate=True)</c> and Hugging Face's <c>truncation=True</c>), or padded with
    /// <see cref="PadId"/> after the end token.
    /// </summary>
    /// <param name="text">Any text.</param>
    /// <returns>The ids.</returns>
    public int[] EncodePadded(string text)
    {
        IReadOnlyList<int> ids = Encode(text);
        var result = new int[ContextLength];
        Array.Fill(result, PadId);
        for (int i = 0; i < Math.Min(ids.Count, ContextLength); i++)
        {
            result[i] = ids[i];
        }

        if (ids.Count >= ContextLength)
        {
            result[^1] = EndOfTextId; // truncated: the end token replaces the last kept one
        }

        return result;
    }

    /// <summary>Encodes a batch of texts into a <c>[N, ContextLength]</c> int64 tensor on the CPU.</summary>
    /// <param name="texts">The texts; at least one.</param>
    /// <returns>The ids. The caller owns and disposes the tensor.</returns>
    public Tensor Tokenize(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
        {
            throw new ArgumentException("texts must hold at least one text; got none.", nameof(texts));
        }

        var flat = new long[texts.Count * ContextLength];
        for (int n = 0; n < texts.Count; n++)
        {
            int[] ids = EncodePadded(texts[n] ?? throw new ArgumentException($"texts[{n}] is null.", nameof(texts)));
            for (int i = 0; i < ContextLength; i++)
            {
                flat[(n * ContextLength) + i] = ids[i];
            }
        }

        return torch.tensor(flat, [texts.Count, ContextLength], dtype: int64);
    }

    /// <summary>Turns ids back into text: word ends become spaces, special tokens are dropped.</summary>
    /// <param name="ids">Ids from this tokenizer.</param>
    /// <returns>The text (lower case, as CLIP saw it).</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in the vocabulary.</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (id < 0 || id >= tokenById.Length || tokenById[id] is null)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"ids must be in the vocabulary (0 to {tokenById.Length - 1}); got {id}.");
            }

            if (id == StartOfTextId || id == EndOfTextId)
            {
                continue;
            }

            string token = tokenById[id]!;
            bool endsWord = token.EndsWith(ClipVocabulary.EndOfWord, StringComparison.Ordinal);
            foreach (char c in endsWord ? token[..^ClipVocabulary.EndOfWord.Length] : token)
            {
                bytes.Add(ByteLevelAlphabet.ByteForChar.TryGetValue(c, out byte b) ? b : (byte)'?');
            }

            if (endsWord)
            {
                bytes.Add((byte)' ');
            }
        }

        return Encoding.UTF8.GetString([.. bytes]).TrimEnd(' ');
    }

    private int RequireToken(string token, string source) =>
        vocabulary.Tokens.TryGetValue(token, out int id)
            ? id
            : throw new InvalidDataException($"{source}: the vocabulary has no '{token}' token, which CLIP's tokenizer needs.");
}
