using System.Globalization;
using System.Text;

namespace Diffusion.Clip;

/// <summary>
/// Splits cleaned text into the pieces BPE works on, exactly as CLIP's pattern does:
/// <c>&lt;|startoftext|&gt;|&lt;|endoftext|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>.
/// </summary>
/// <remarks>
/// Written as a scan over code points rather than a .NET <see cref="System.Text.RegularExpressions.Regex"/>:
/// .NET patterns see UTF-16 units, so a letter outside the Basic Multilingual Plane would fall into the
/// "other" class there, while CLIP (Python's <c>regex</c> module) treats it as a letter. At each
/// position the alternatives are tried in the pattern's order; each is a possessive run, so no
/// backtracking is needed to get the same matches as the pattern.
/// </remarks>
internal static class ClipPreTokenizer
{
    private static readonly string[] Specials = [ClipVocabulary.StartOfText, ClipVocabulary.EndOfText];
    private static readonly string[] Contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    /// <summary>The pieces of <paramref name="text"/> (already cleaned and lower-cased), in order.</summary>
    public static List<string> Split(string text)
    {
        var pieces = new List<string>();
        int i = 0;
        while (i < text.Length)
        {
            Rune r = Rune.GetRuneAt(text, i);
            if (ClipTextCleaner.IsPythonSpace(r))
            {
                i += r.Utf16SequenceLength; // whitespace matches no alternative: skipped
                continue;
            }

            int length = MatchLiteral(text, i, Specials) ?? MatchLiteral(text, i, Contractions) ?? MatchClass(text, i, r);
            pieces.Add(text.Substring(i, length));
            i += length;
        }

        return pieces;
    }

    private static int? MatchLiteral(string text, int start, string[] literals)
    {
        foreach (string literal in literals)
        {
            if (start + literal.Length <= text.Length && string.CompareOrdinal(text, start, literal, 0, literal.Length) == 0)
            {
                return literal.Length;
            }
        }

        return null;
    }

    private static int MatchClass(string text, int start, Rune first)
    {
        CharClass kind = Classify(first);
        if (kind == CharClass.Number)
        {
            return first.Utf16SequenceLength; // [\p{N}]: one digit per piece
        }

        int end = start + first.Utf16SequenceLength;
        while (end < text.Length)
        {
            Rune next = Rune.GetRuneAt(text, end);
            if (Classify(next) != kind)
            {
                break;
            }

            end += next.Utf16SequenceLength;
        }

        return end - start;
    }

    private static CharClass Classify(Rune r)
    {
        if (ClipTextCleaner.IsPythonSpace(r))
        {
            return CharClass.Space;
        }

        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharClass.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
            _ => CharClass.Other,
        };
    }

    private enum CharClass
    {
        Space,
        Letter,
        Number,
        Other,
    }
}
