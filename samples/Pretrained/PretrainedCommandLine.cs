using System.CommandLine;

namespace Diffusion.Samples.Pretrained;

/// <summary>The Pretrained sample's options, as parsed from its command line (<see cref="PretrainedCommandLine"/>).</summary>
public sealed record PretrainedOptions
{
    /// <summary>Scheduler names: "saved" (the folder's own) and the Sampling sample's names.</summary>
    public static IReadOnlyList<string> SchedulerNames { get; } = ["saved", .. SamplerNames.All];

    /// <summary>A diffusers DDPMPipeline/DDIMPipeline folder, or a bare UNet2DModel folder.</summary>
    public string Folder { get; init; } = "";

    /// <summary>Scheduler name; "saved" samples with the folder's scheduler.</summary>
    public string Scheduler { get; init; } = "saved";

    /// <summary>Denoising steps; null: the scheduler's usual count (DDPM 1000, DDIM 50, Euler 30, DPM-Solver++ 20).</summary>
    public int? SamplingSteps { get; init; }

    /// <summary>Images to draw.</summary>
    public int Count { get; init; } = 8;

    /// <summary>Seed of the noise.</summary>
    public long Seed { get; init; }

    /// <summary>Output PNG.</summary>
    public string Output { get; init; } = Path.Combine("output", "pretrained.png");

    /// <summary>libtorch CPU threads.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>The Pretrained sample's command line (System.CommandLine; the shared options come from <see cref="CommonOptions"/>).</summary>
public sealed class PretrainedCommandLine : SampleCommandLine<PretrainedOptions>
{
    private static readonly PretrainedOptions Defaults = new();

    private readonly Argument<string> folder = new("folder")
    {
        Description = "a diffusers DDPMPipeline/DDIMPipeline folder (model_index.json, unet/, scheduler/) or a UNet2DModel folder (config.json + weights)",
    };

    private readonly Option<string> scheduler = new Option<string>("--scheduler")
    {
        Description = "the sampler; saved uses the folder's scheduler, the others take its training schedule (betas, steps, prediction type)",
        HelpName = string.Join('|', PretrainedOptions.SchedulerNames),
        DefaultValueFactory = _ => Defaults.Scheduler,
    }.AcceptOnlyFromAmong([.. PretrainedOptions.SchedulerNames]);

    private readonly Option<int?> samplingSteps = CommonOptions.SamplingSteps(null, "50 DDIM, 1000 DDPM, 30 Euler, 20 DPM-Solver++");
    private readonly Option<int> count = CommonOptions.Count(Defaults.Count, "images to draw");
    private readonly Option<long> seed = CommonOptions.Seed();
    private readonly Option<string> output = CommonOptions.Output(Defaults.Output, "the PNG grid to write");

    /// <summary>Creates the command line (one per parse).</summary>
    public PretrainedCommandLine()
        : base(
            "Pretrained",
            "Opens a diffusers DDPM/DDIM pipeline folder (such as a download of google/ddpm-cifar10-32) and draws a grid.")
    {
        Command.AddArgument(folder);
        Command.Add(scheduler, samplingSteps, count, seed, output);
        Command.Validate(result => result.GetValue(folder) is { } path ? CommonOptions.MissingPathMessage("folder", path, PathKind.Folder) : null, alsoAfterParseErrors: true);
    }

    /// <inheritdoc/>
    protected override PretrainedOptions Bind(ParseResult parsed) => new()
    {
        Folder = parsed.GetRequiredValue(folder),
        Scheduler = parsed.GetRequiredValue(scheduler),
        SamplingSteps = parsed.GetValue(samplingSteps),
        Count = parsed.GetValue(count),
        Seed = parsed.GetValue(seed),
        Output = parsed.GetRequiredValue(output),
        Threads = parsed.GetValue(Command.Threads),
    };
}
