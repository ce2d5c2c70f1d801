namespace Diffusion.Internal;

/// <summary>
/// The one way every options and config record of the library reports broken rules: a single
/// <see cref="ArgumentException"/> naming the record and listing every violation, one per line:
/// <code>
/// UNetOptions is invalid:
///  - InChannels must be at least 1; got 0
///  - AttentionHeads must be at least 1; got 0
/// </code>
/// Each violation names the property (and the JSON key where the record is read from one), the rule and the value given.
/// A record read from a file is refused the same way, as an <see cref="InvalidDataException"/> that starts with the file
/// (<see cref="ThrowIfAnyInFile"/>).
/// </summary>
internal static class OptionsValidation
{
    /// <summary>Throws when <paramref name="errors"/> holds anything; does nothing otherwise.</summary>
    /// <param name="typeName">The record's type name, e.g. <c>nameof(UNetOptions)</c>.</param>
    /// <param name="errors">The violations, each one sentence (a final full stop is dropped: the list adds its own layout).</param>
    /// <param name="paramName">The parameter the record was passed as.</param>
    /// <exception cref="ArgumentException">There is at least one violation.</exception>
    public static void ThrowIfAny(string typeName, IReadOnlyCollection<string> errors, string paramName = "options")
    {
        if (errors.Count > 0)
        {
            throw new ArgumentException($"{typeName} is invalid:" + Listed(errors), paramName);
        }
    }

    /// <summary>Throws when <paramref name="errors"/>, the rules a record read from <paramref name="source"/> breaks, holds
    /// anything; does nothing otherwise.</summary>
    /// <param name="source">The file (or another name for where the text came from), which starts the message.</param>
    /// <param name="what">What the record was to describe, e.g. <c>"UNet2DModel"</c>.</param>
    /// <param name="errors">The violations, as for <see cref="ThrowIfAny"/>.</param>
    /// <exception cref="InvalidDataException">There is at least one violation.</exception>
    public static void ThrowIfAnyInFile(string source, string what, IReadOnlyCollection<string> errors)
    {
        if (errors.Count > 0)
        {
            throw new InvalidDataException($"{source}: not a {what} this library can build:" + Listed(errors));
        }
    }

    /// <summary>Adds <paramref name="message"/> to <paramref name="errors"/> unless <paramref name="ok"/>: one rule, one line
    /// (<c>Check(errors, BatchSize >= 1, $"BatchSize must be at least 1; got {BatchSize}.")</c>).</summary>
    /// <param name="errors">The violations found so far.</param>
    /// <param name="ok">Whether the rule holds.</param>
    /// <param name="message">The violation: the property, the rule and the value given.</param>
    public static void Check(List<string> errors, bool ok, string message)
    {
        if (!ok)
        {
            errors.Add(message);
        }
    }

    // One violation a line, each without its final full stop.
    private static string Listed(IEnumerable<string> errors)
    {
        string nl = Environment.NewLine;
        return nl + " - " + string.Join(nl + " - ", errors.Select(e => e.TrimEnd('.')));
    }
}
