namespace Diffusion.Clip;

/// <summary>
/// CLIP's (and GPT-2's) reversible map from the 256 byte values to 256 printable characters, so BPE
/// works on text without whitespace or control characters (openai/CLIP <c>bytes_to_unicode</c>).
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>The character for each byte value.</summary>
    public static IReadOnlyList<char> CharForByte { get; } = Build();

    /// <summary>
    /// The 256 characters in CLIP's vocabulary order: first the bytes that are printable as themselves
    /// (<c>!</c>..<c>~</c>, <c>¡</c>..<c>¬</c>, <c>®</c>..<c>ÿ</c>), then the others in byte order, which
    /// are shifted to U+0100 onwards.
    /// </summary>
    public static IReadOnlyList<char> VocabularyOrder { get; } = BuildOrder();

    /// <summary>The byte behind each mapped character.</summary>
    public static IReadOnlyDictionary<char, byte> ByteForChar { get; } =
        Enumerable.Range(0, 256).ToDictionary(b => CharForByte[b], b => (byte)b);

    /// <summary>Maps UTF-8 bytes to their characters.</summary>
    public static string Encode(ReadOnlySpan<byte> utf8)
    {
        return string.Create(utf8.Length, utf8.ToArray(), static (span, bytes) =>
        {
            for (int i = 0; i < bytes.Length; i++)
            {
                span[i] = CharForByte[bytes[i]];
            }
        });
    }

    private static bool IsSelfPrintable(int b) => b is (>= '!' and <= '~') or (>= '¡' and <= '¬') or (>= '®' and <= 'ÿ');

    private static char[] Build()
    {
        var map = new char[256];
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            map[b] = IsSelfPrintable(b) ? (char)b : (char)(256 + shifted++);
        }

        return map;
    }

    private static char[] BuildOrder()
    {
        IEnumerable<int> printable = Enumerable.Range(0, 256).Where(IsSelfPrintable);
        IEnumerable<int> others = Enumerable.Range(0, 256).Where(b => !IsSelfPrintable(b));
        return [.. printable.Concat(others).Select(b => CharForByte[b])];
    }
}
