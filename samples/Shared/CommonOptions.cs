using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace Diffusion.Samples;

/// <summary>
/// The options that mean the same thing in several samples, made in one place so they have one name, one
/// description style and one validation message format (<c>"--x must be between A and B; got V."</c>).
/// </summary>
public static class CommonOptions
{
    /// <summary><c>--output</c>: where the sample writes.</summary>
    /// <param name="defaultPath">The default, relative to the working directory.</param>
    /// <param name="what">What goes there, for the help text.</param>
    /// <returns>The option.</returns>
    public static Option<string> Output(string defaultPath, string what) =>
        new("--output") { Description = what, HelpName = "path", DefaultValueFactory = _ => defaultPath };

    /// <summary><c>--seed</c>: the seed of data, training and sampling noise.</summary>
    /// <returns>The option (default 0).</returns>
    public static Option<long> Seed() => Range(new Option<long>("--seed") { Description = "seed of the data, training and sampling noise", HelpName = "n", DefaultValueFactory = _ => 0 }, 0, int.MaxValue);

    /// <summary><c>--threads</c>: libtorch's CPU threads.</summary>
    /// <returns>The option (default: every logical processor).</returns>
    public static Option<int> Threads() => Range(
        new Option<int>("--threads")
        {
            Description = "libtorch CPU threads (the default is the logical processors this process may use)",
            HelpName = "n",
            DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount),
        },
        1,
        1024);

    /// <summary><c>--minutes</c>: training time of this run.</summary>
    /// <param name="defaultMinutes">The default.</param>
    /// <param name="what">What trains, for the help text.</param>
    /// <returns>The option.</returns>
    public static Option<double> Minutes(double defaultMinutes, string what) =>
        Range(new Option<double>("--minutes") { Description = $"training time of {what} in this run", HelpName = "m", DefaultValueFactory = _ => defaultMinutes }, 0.01, 24 * 60);

    /// <summary><c>--steps</c>: train until this many optimizer steps instead of by time.</summary>
    /// <param name="what">What trains, for the help text.</param>
    /// <returns>The option (default: none, time decides).</returns>
    public static Option<long?> Steps(string what) =>
        Range(new Option<long?>("--steps") { Description = $"train {what} until this many steps in all (resumed ones included) instead of by time", HelpName = "n" }, 1, 1_000_000_000);

    /// <summary><c>--sampling-steps</c>: denoising steps of the sampler.</summary>
    /// <param name="defaultSteps">The default, or null when the sampler decides.</param>
    /// <param name="defaultText">The help text's description of the default when <paramref name="defaultSteps"/> is null.</param>
    /// <returns>The option.</returns>
    public static Option<int?> SamplingSteps(int? defaultSteps, string? defaultText = null)
    {
        var option = new Option<int?>("--sampling-steps")
        {
            Description = "denoising steps of the sampler" + (defaultText is null ? string.Empty : $" (default: {defaultText})"),
            HelpName = "n",
        };
        if (defaultSteps is { } steps)
        {
            option.DefaultValueFactory = _ => steps;
        }

        return Range(option, 1, 1000);
    }

    /// <summary><c>--count</c>: how many images to draw.</summary>
    /// <param name="defaultCount">The default.</param>
    /// <param name="what">Which images, for the help text.</param>
    /// <returns>The option.</returns>
    public static Option<int> Count(int defaultCount, string what) =>
        Range(new Option<int>("--count") { Description = what, HelpName = "n", DefaultValueFactory = _ => defaultCount }, 1, 256);

    /// <summary><c>--batch-size</c>: images (or pairs) per training batch.</summary>
    /// <param name="defaultSize">The default.</param>
    /// <returns>The option.</returns>
    public static Option<int> BatchSize(int defaultSize) =>
        Range(new Option<int>("--batch-size") { Description = "items per training batch", HelpName = "n", DefaultValueFactory = _ => defaultSize }, 1, 4096);

    /// <summary><c>--dataset-size</c>: procedural flowers to draw for training.</summary>
    /// <param name="defaultSize">The default.</param>
    /// <param name="min">The fewest allowed.</param>
    /// <returns>The option.</returns>
    public static Option<int> DatasetSize(int defaultSize, int min = 1) =>
        Range(new Option<int>("--dataset-size") { Description = "procedural flowers drawn for training", HelpName = "n", DefaultValueFactory = _ => defaultSize }, min, 10_000_000);

    /// <summary><c>--lr</c>: peak learning rate.</summary>
    /// <param name="defaultRate">The default.</param>
    /// <returns>The option.</returns>
    public static Option<double> LearningRate(double defaultRate)
    {
        Option<double> option = LearningRateWithoutDefault("peak learning rate (constant after a 100-step warm-up)");
        option.DefaultValueFactory = _ => defaultRate;
        return option;
    }

    /// <summary><c>--lr</c> whose default depends on other choices (absent: the option's result is null).</summary>
    /// <param name="description">The help text, saying what the default is.</param>
    /// <returns>The option.</returns>
    public static Option<double> LearningRateWithoutDefault(string description) =>
        Range(new Option<double>("--lr") { Description = description, HelpName = "x" }, 1e-7, 1);

    /// <summary><c>--image-size</c>: image side in pixels.</summary>
    /// <param name="defaultSize">The default.</param>
    /// <param name="min">The smallest side.</param>
    /// <param name="max">The largest side.</param>
    /// <param name="multipleOf">The side must be a multiple of this.</param>
    /// <param name="why">Why it must be that multiple, for the error message.</param>
    /// <returns>The option.</returns>
    public static Option<int> ImageSize(int defaultSize, int min, int max, int multipleOf, string why)
    {
        Option<int> option = Range(
            new Option<int>("--image-size") { Description = $"image side in pixels, a multiple of {multipleOf} from {min} to {max}", HelpName = "px", DefaultValueFactory = _ => defaultSize },
            min,
            max);
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out int size) && size % multipleOf != 0)
            {
                result.AddError($"--image-size must be a multiple of {multipleOf} ({why}); got {size}.");
            }
        });
        return option;
    }

    /// <summary><c>--model-dims</c>: U-Net channel widths per level, comma-separated.</summary>
    /// <param name="defaultDims">The default.</param>
    /// <param name="maxLevels">The most levels allowed.</param>
    /// <returns>The option.</returns>
    public static Option<int[]> ModelDims(int[] defaultDims, int maxLevels = 6) => new("--model-dims")
    {
        Description = $"U-Net channel widths per level, 2 to {maxLevels} comma-separated multiples of 8",
        HelpName = "a,b,..",
        DefaultValueFactory = _ => defaultDims,
        CustomParser = result =>
        {
            string text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(',', result.Tokens.Select(t => t.Value));
            string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
            var dims = new int[parts.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out dims[i]) || dims[i] < 8 || dims[i] > 2048)
                {
                    result.AddError($"--model-dims expects comma-separated widths from 8 to 2048 such as 32,64,128,256; got '{text}'.");
                    return defaultDims;
                }

                if (dims[i] % 8 != 0)
                {
                    result.AddError($"--model-dims widths must be multiples of 8 (GroupNorm uses 8 groups); got {dims[i]}.");
                    return defaultDims;
                }
            }

            if (dims.Length < 2 || dims.Length > maxLevels)
            {
                result.AddError($"--model-dims needs 2 to {maxLevels} widths; got '{text}'.");
            }

            return dims;
        },
    };

    /// <summary><c>--device</c>: where libtorch runs.</summary>
    /// <returns>The option (<c>cpu</c> or <c>cuda</c>; default <c>cpu</c>).</returns>
    public static Option<string> Device()
    {
        var option = new Option<string>("--device") { Description = "where libtorch runs: cpu or cuda", HelpName = "cpu|cuda", DefaultValueFactory = _ => "cpu" };
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out string? device) && device is not ("cpu" or "cuda"))
            {
                result.AddError($"--device must be 'cpu' or 'cuda'; got '{device}'.");
            }
        });
        return option;
    }

    /// <summary>Refuses values outside [<paramref name="min"/>, <paramref name="max"/>] with a message naming the option.</summary>
    /// <typeparam name="T">The option's number type.</typeparam>
    /// <param name="option">The option.</param>
    /// <param name="min">The smallest value allowed.</param>
    /// <param name="max">The largest value allowed.</param>
    /// <returns><paramref name="option"/>.</returns>
    public static Option<T> Range<T>(Option<T> option, T min, T max)
        where T : struct, INumber<T>
    {
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out T value))
            {
                CheckRange(result, option.Name, value, min, max);
            }
        });
        return option;
    }

    /// <inheritdoc cref="Range{T}(Option{T}, T, T)"/>
    public static Option<T?> Range<T>(Option<T?> option, T min, T max)
        where T : struct, INumber<T>
    {
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out T? given) && given is { } value)
            {
                CheckRange(result, option.Name, value, min, max);
            }
        });
        return option;
    }

    /// <summary>Refuses a path where no file or folder exists, with a message naming the option and the path.</summary>
    /// <param name="option">A path option.</param>
    /// <param name="kind">What must exist there.</param>
    /// <returns><paramref name="option"/>.</returns>
    public static Option<string> MustExist(Option<string> option, PathKind kind)
    {
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out string? path) && path is not null && MissingPathMessage(option.Name, path, kind) is { } message)
            {
                result.AddError(message);
            }
        });
        return option;
    }

    /// <summary>The error for a path that does not exist, or null when it does.</summary>
    /// <param name="optionName">The option, e.g. <c>--weights</c>.</param>
    /// <param name="path">The path given.</param>
    /// <param name="kind">What must exist there.</param>
    /// <returns>The one-line message, or null.</returns>
    public static string? MissingPathMessage(string optionName, string path, PathKind kind) => kind switch
    {
        PathKind.File when !File.Exists(path) => $"{optionName}: no file at '{path}'.",
        PathKind.Folder when !Directory.Exists(path) => $"{optionName}: no folder at '{path}'.",
        PathKind.FileOrFolder when !File.Exists(path) && !Directory.Exists(path) => $"{optionName}: no file or folder at '{path}'.",
        _ => null,
    };

    // A value that did not convert has its own error already ("Cannot parse argument 'abc' for option '--minutes'
    // as expected type 'System.Double'"); reading it would throw, so checks skip it.
    private static bool TryGetValue<T>(OptionResult result, out T value)
    {
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default!;
            return false;
        }
    }

    private static void CheckRange<T>(OptionResult result, string name, T value, T min, T max)
        where T : struct, INumber<T>
    {
        if (T.IsNaN(value) || value < min || value > max)
        {
            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be between {min} and {max}; got {value}."));
        }
    }
}
