using System.CommandLine;

namespace Diffusion.Samples.StableDiffusion;

/// <summary>The Stable Diffusion sample's options, as parsed from its command line (<see cref="StableDiffusionCommandLine"/>).</summary>
public sealed record StableDiffusionOptions
{
    /// <summary>Element types the weights can be loaded in.</summary>
    public static IReadOnlyList<string> DTypeNames { get; } = ["float32", "float16", "bfloat16"];

    /// <summary>A diffusers Stable Diffusion folder (model_index.json, text_encoder/, tokenizer/, unet/, vae/, scheduler/).</summary>
    public string Folder { get; init; } = "";

    /// <summary>What to draw.</summary>
    public string Prompt { get; init; } = "";

    /// <summary>What to steer away from; null: "".</summary>
    public string? Negative { get; init; }

    /// <summary>Denoising steps; null: the scheduler's usual count (PNDM and DDIM 50, Euler 30, DPM-Solver++ 20).</summary>
    public int? Steps { get; init; }

    /// <summary>Classifier-free guidance scale.</summary>
    public double Guidance { get; init; } = 7.5;

    /// <summary>Seed of the CPU generator.</summary>
    public long Seed { get; init; }

    /// <summary>Side of the square image in pixels; null: the U-Net's sample_size × 8 (512 for SD 1.5 and SD 2.1 base).</summary>
    public int? Size { get; init; }

    /// <summary>Images to draw.</summary>
    public int Count { get; init; } = 1;

    /// <summary>An image to start from (image to image); null draws from noise.</summary>
    public string? InitImage { get; init; }

    /// <summary>How much of the init image to change, in (0, 1].</summary>
    public double Strength { get; init; } = 0.8;

    /// <summary>cpu or cuda.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>float32, float16 or bfloat16.</summary>
    public string DType { get; init; } = "float32";

    /// <summary>Output PNG.</summary>
    public string Output { get; init; } = Path.Combine("output", "stable-diffusion.png");

    /// <summary>libtorch CPU threads.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
}

/// <summary>The Stable Diffusion sample's command line (System.CommandLine; the shared options come from <see cref="CommonOptions"/>).</summary>
public sealed class StableDiffusionCommandLine : SampleCommandLine<StableDiffusionOptions>
{
    private static readonly StableDiffusionOptions Defaults = new();

    private readonly Argument<string> folder = new("folder")
    {
        Description = "a diffusers Stable Diffusion folder, e.g. a download of stable-diffusion-v1-5/stable-diffusion-v1-5 (docs/stable-diffusion.md)",
    };

    private readonly Option<string> prompt = new("--prompt") { Description = "what to draw", HelpName = "text", Required = true };
    private readonly Option<string?> negative = new("--negative") { Description = "what to steer away from (default: none)", HelpName = "text" };
    private readonly Option<int?> steps = CommonOptions.Range(new Option<int?>("--steps") { Description = "denoising steps (default: 50 for PNDM and DDIM, 30 Euler, 20 DPM-Solver++)", HelpName = "n" }, 1, 1000);
    private readonly Option<double> guidance = CommonOptions.Range(
        new Option<double>("--guidance") { Description = "classifier-free guidance scale; 1 or less turns guidance off", HelpName = "s", DefaultValueFactory = _ => Defaults.Guidance }, 0, 50);
    private readonly Option<long> seed = CommonOptions.Seed();
    private readonly Option<int?> size = CommonOptions.Range(new Option<int?>("--size") { Description = "image side in pixels, a multiple of 8 (default: the model's, 512 for SD 1.5)", HelpName = "px" }, 8, 2048);
    private readonly Option<int> count = CommonOptions.Count(Defaults.Count, "images to draw");
    private readonly Option<string?> initImage = new("--init-image") { Description = "a PNG or JPEG to start from (image to image); its sides must be multiples of 8", HelpName = "file" };
    private readonly Option<double> strength = CommonOptions.Range(
        new Option<double>("--strength") { Description = "with --init-image: how much to change it, in (0, 1]", HelpName = "x", DefaultValueFactory = _ => Defaults.Strength }, 0.001, 1);
    private readonly Option<string> device = CommonOptions.Device();
    private readonly Option<string> dtype = new Option<string>("--dtype")
    {
        Description = "the weights' element type (float16 on a GPU halves memory)",
        HelpName = string.Join('|', StableDiffusionOptions.DTypeNames),
        DefaultValueFactory = _ => Defaults.DType,
    }.AcceptOnlyFromAmong([.. StableDiffusionOptions.DTypeNames]);

    private readonly Option<string> output = CommonOptions.Output(Defaults.Output, "the PNG to write");

    /// <summary>Creates the command line (one per parse).</summary>
    public StableDiffusionCommandLine()
        : base("StableDiffusion", "Opens a diffusers Stable Diffusion folder and draws a prompt, from noise or from --init-image.")
    {
        Command.AddArgument(folder);
        Command.Add(prompt, negative, steps, guidance, seed, size, count, initImage, strength, device, dtype, output);
        Command.Validate(result => result.GetValue(folder) is { } path ? CommonOptions.MissingPathMessage("folder", path, PathKind.Folder) : null, alsoAfterParseErrors: true);
        Command.Validate(result => result.GetValue(initImage) is { } image ? CommonOptions.MissingPathMessage("--init-image", image, PathKind.File) : null);
        Command.Validate(result => result.GetValue(size) is { } side && side % 8 != 0 ? $"--size must be a multiple of 8 (the VAE's factor); got {side}." : null);
    }

    /// <inheritdoc/>
    protected override StableDiffusionOptions Bind(ParseResult parsed) => new()
    {
        Folder = parsed.GetRequiredValue(folder),
        Prompt = parsed.GetRequiredValue(prompt),
        Negative = parsed.GetValue(negative),
        Steps = parsed.GetValue(steps),
        Guidance = parsed.GetValue(guidance),
        Seed = parsed.GetValue(seed),
        Size = parsed.GetValue(size),
        Count = parsed.GetValue(count),
        InitImage = parsed.GetValue(initImage),
        Strength = parsed.GetValue(strength),
        Device = parsed.GetRequiredValue(device),
        DType = parsed.GetRequiredValue(dtype),
        Output = parsed.GetRequiredValue(output),
        Threads = parsed.GetValue(Command.Threads),
    };
}
