using System.CommandLine;
using System.Diagnostics.CodeAnalysis;

namespace Diffusion.Samples;

/// <summary>
/// A sample's command line: its options (fields of the derived class, added with <see cref="SampleCommand.Add"/>)
/// and how a parse becomes the sample's options record.
/// </summary>
/// <typeparam name="TOptions">The sample's options record.</typeparam>
public abstract class SampleCommandLine<TOptions>
    where TOptions : class
{
    /// <summary>Creates the command line.</summary>
    /// <param name="name">The sample's name, which starts each error line.</param>
    /// <param name="description">What the sample does, shown first by <c>--help</c>.</param>
    protected SampleCommandLine(string name, string description) => Command = new SampleCommand(name, description);

    /// <summary>The command. Make a new command line per parse: a System.CommandLine option belongs to one command.</summary>
    public SampleCommand Command { get; }

    /// <summary>Parses the command line, or prints help or the error (one line) and says how to exit.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="options">The options, when the sample should run.</param>
    /// <param name="exitCode">When false is returned: 0 after --help, 2 after an error.</param>
    /// <param name="errors">Where the error line goes; standard error when null.</param>
    /// <returns>True when the sample should run.</returns>
    public bool TryParse(IReadOnlyList<string> args, [NotNullWhen(true)] out TOptions? options, out int exitCode, TextWriter? errors = null) =>
        Command.TryParse(args, Bind, out options, out exitCode, errors);

    /// <summary>Reads the options record from a parse without errors.</summary>
    /// <param name="parsed">The parse.</param>
    /// <returns>The options.</returns>
    protected abstract TOptions Bind(ParseResult parsed);
}
