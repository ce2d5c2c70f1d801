using System.Globalization;
using System.Net;
using System.Text;

namespace Diffusion.Clip;

/// <summary>
/// The text clean-up CLIP's tokenizer does before splitting (openai/CLIP <c>simple_tokenizer.py</c>):
/// <c>ftfy.fix_text</c>, HTML unescaping twice, whitespace runs to one space, trimming, lower case.
/// </summary>
/// <remarks>
/// ftfy is a large Python library; this keeps the parts of its default <c>fix_text</c> that change
/// ordinary text (curly quotes to straight ones, Latin ligatures, full-width forms, line breaks,
/// control characters, lone surrogates, NFC) and leaves out mojibake repair. Lower case follows
/// Python's <c>str.lower()</c>, including the two context rules it applies (İ and final sigma).
/// </remarks>
internal static class ClipTextCleaner
{
    /// <summary>Cleans and lower-cases <paramref name="text"/> as CLIP's tokenizer does.</summary>
    public static string Clean(string text)
    {
        string fixedText = FixText(text);
        // CLIP unescapes twice, so "&amp;amp;" becomes "&".
        string unescaped = fixedText.Contains('&', StringComparison.Ordinal)
            ? WebUtility.HtmlDecode(WebUtility.HtmlDecode(fixedText))
            : fixedText;
        return PythonLower(CollapseWhitespace(unescaped));
    }

    /// <summary>Python's <c>str.isspace</c> for one code point (the <c>\s</c> of CLIP's patterns).</summary>
    public static bool IsPythonSpace(Rune r) =>
        Rune.IsWhiteSpace(r) || r.Value is >= 0x1C and <= 0x1F;

    private static string FixText(string text)
    {
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    int value = char.ConvertToUtf32(c, text[i + 1]);
                    if (!IsRemovedControl(value))
                    {
                        sb.Append(c).Append(text[i + 1]);
                    }

                    i++;
                }
                else
                {
                    sb.Append('\uFFFD'); // ftfy's fix_surrogates: a lone half becomes the replacement character
                }

                continue;
            }

            if (c == '\r')
            {
                sb.Append('\n');
                if (i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                continue;
            }

            if (IsRemovedControl(c))
            {
                continue;
            }

            sb.Append(c switch
            {
                '\u2018' or '\u2019' or '\u201A' or '\u201B' => "'",
                '\u201C' or '\u201D' or '\u201E' or '\u201F' => "\"",
                '\u2028' or '\u2029' or '\u0085' => "\n",
                '\uFB00' => "ff",
                '\uFB01' => "fi",
                '\uFB02' => "fl",
                '\uFB03' => "ffi",
                '\uFB04' => "ffl",
                '\uFB05' => "\u017Ft",
                '\uFB06' => "st",
                '\u3000' => " ",
                >= '\uFF01' and <= '\uFFEF' => c.ToString().Normalize(NormalizationForm.FormKC),
                _ => c.ToString(),
            });
        }

        return sb.ToString().Normalize(NormalizationForm.FormC);
    }

    // ftfy's remove_control_chars set; tabs and line breaks stay (they are whitespace below).
    private static bool IsRemovedControl(int c) =>
        c is (>= 0x00 and <= 0x08) or 0x0B or (>= 0x0E and <= 0x1F) or 0x7F or (>= 0x206A and <= 0x206F)
            or 0xFEFF or (>= 0xFFF9 and <= 0xFFFC) or (>= 0x1D173 and <= 0x1D17A) or (>= 0xE0000 and <= 0xE007F);

    private static string CollapseWhitespace(string text)
    {
        var sb = new StringBuilder(text.Length);
        bool pendingSpace = false;
        foreach (Rune r in text.EnumerateRunes())
        {
            if (IsPythonSpace(r))
            {
                pendingSpace = sb.Length > 0;
                continue;
            }

            if (pendingSpace)
            {
                sb.Append(' ');
                pendingSpace = false;
            }

            sb.Append(r.ToString());
        }

        return sb.ToString();
    }

    private static string PythonLower(string text)
    {
        Rune[] runes = [.. text.EnumerateRunes()];
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < runes.Length; i++)
        {
            Rune r = runes[i];
            if (r.Value == 0x130)
            {
                sb.Append("i\u0307"); // Python's full lower-case mapping of İ
            }
            else if (r.Value == 0x3A3)
            {
                sb.Append(IsFinalSigma(runes, i) ? 'ς' : 'σ');
            }
            else
            {
                sb.Append(Rune.ToLowerInvariant(r).ToString());
            }
        }

        return sb.ToString();
    }

    // Unicode's Final_Sigma condition, as CPython applies it: a cased letter before (skipping
    // case-ignorable characters) and none after.
    private static bool IsFinalSigma(Rune[] runes, int index)
    {
        int j = index - 1;
        while (j >= 0 && IsCaseIgnorable(runes[j]))
        {
            j--;
        }

        if (j < 0 || !IsCased(runes[j]))
        {
            return false;
        }

        j = index + 1;
        while (j < runes.Length && IsCaseIgnorable(runes[j]))
        {
            j++;
        }

        return j == runes.Length || !IsCased(runes[j]);
    }

    private static bool IsCased(Rune r) => Rune.GetUnicodeCategory(r) is
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(Rune r) =>
        r.Value is '\'' or '.' or ':' or '^' or '`' or 0xB7 or 0x2019 ||
        Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
}
