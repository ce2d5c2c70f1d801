using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace Diffusion.Samples;

/// <summary>
/// A sample's command line (System.CommandLine): its options plus the ones every sample has (<c>--threads</c>,
/// <c>--help</c>), parsed so that <c>--help</c> prints the options and exits 0, and a bad flag or value prints one
/// line on standard error and exits 2.
/// </summary>
public sealed class SampleCommand
{
    /// <summary>Exit code of a bad command line (a usage error, as in BSD's sysexits and most shells' built-ins).</summary>
    public const int UsageExitCode = 2;

    private readonly string name;
    private readonly RootCommand root;
    private readonly List<(Func<ParseResult, string?> Check, bool AlsoAfterParseErrors)> checks = [];

    /// <summary>Creates the command with the options every sample has (<c>--threads</c>, <c>--help</c>).</summary>
    /// <param name="name">The sample's name, which starts each error line.</param>
    /// <param name="description">What the sample does, shown first by <c>--help</c>.</param>
    public SampleCommand(string name, string description)
    {
        this.name = name;
        root = new RootCommand(description) { Threads };
    }

    /// <summary><c>--threads</c>: libtorch's CPU threads (default: every logical processor).</summary>
    public Option<int> Threads { get; } = CommonOptions.Threads();

    /// <summary>Adds the sample's own options, in the order <c>--help</c> lists them (before <c>--threads</c>).</summary>
    /// <param name="options">The options.</param>
    public void Add(params Option[] options)
    {
        foreach (Option option in options)
        {
            root.Options.Insert(root.Options.IndexOf(Threads), option);
        }
    }

    /// <summary>Adds a positional argument (listed by <c>--help</c> under Arguments).</summary>
    /// <param name="argument">The argument.</param>
    public void AddArgument(Argument argument) => root.Arguments.Add(argument);

    /// <summary>
    /// Adds a check of the whole command line (a rule between options, or a default that must exist). Checks run on
    /// the finished parse, so an option left out reads as its default, and only when the parse has no errors of its
    /// own (a value out of range is reported once), unless <paramref name="alsoAfterParseErrors"/> says otherwise.
    /// </summary>
    /// <param name="check">Returns the error (naming the options and values) or null when the command line is fine.</param>
    /// <param name="alsoAfterParseErrors">True for a check whose message explains a parse error, e.g. that of a missing
    /// positional folder: with <c>--colour red</c> the folder is "--colour" and the parse only sees 'red' as extra.</param>
    public void Validate(Func<ParseResult, string?> check, bool alsoAfterParseErrors = false) => checks.Add((check, alsoAfterParseErrors));

    /// <summary>Parses <paramref name="args"/> into the sample's options; prints help or the error itself when the program should stop.</summary>
    /// <typeparam name="TOptions">The sample's options record.</typeparam>
    /// <param name="args">The command line.</param>
    /// <param name="bind">Reads the options record from a parse without errors.</param>
    /// <param name="options">The options when the sample should run.</param>
    /// <param name="exitCode">When false is returned: 0 after <c>--help</c>, <see cref="UsageExitCode"/> after an error.</param>
    /// <param name="errors">Where the error line goes; standard error when null (tests pass a <see cref="StringWriter"/>).</param>
    /// <returns>True when the sample should run with <paramref name="options"/>.</returns>
    public bool TryParse<TOptions>(
        IReadOnlyList<string> args, Func<ParseResult, TOptions> bind, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TOptions? options, out int exitCode, TextWriter? errors = null)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(bind);
        ParseResult result = root.Parse(args);
        options = null;
        if (result.Action is { } action and not ParseErrorAction)
        {
            // --help, --version or a directive: the root command itself has no action, the program runs it.
            exitCode = result.Invoke();
            return false;
        }

        // System.CommandLine's own validators see an option left out as default(T), not its default value; these checks
        // run on the finished parse, which gives the defaults.
        List<string> problems =
        [
            .. result.Errors.Select(e => e.Message),
            .. checks.Where(c => result.Errors.Count == 0 || c.AlsoAfterParseErrors).Select(c => Check(c.Check, result)).OfType<string>(),
        ];
        if (problems.Count > 0)
        {
            // One line, whatever went wrong: the messages name the option and the value.
            (errors ?? Console.Error).WriteLine($"{name}: {string.Join(" ", problems.Select(OneLine))} Run with --help for the options.");
            exitCode = UsageExitCode;
            return false;
        }

        options = bind(result);
        exitCode = 0;
        return true;
    }

    // A check that reads an option whose value did not convert has nothing to say: the parse error says it.
    private static string? Check(Func<ParseResult, string?> check, ParseResult result)
    {
        try
        {
            return check(result);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    // Some of System.CommandLine's messages span lines (a list of allowed values); the sample's error is one line.
    private static string OneLine(string message)
    {
        string line = string.Join(' ', message.Split((char[])['\r', '\n', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));
        return line.EndsWith('.') ? line : line + ".";
    }
}
