// Loads trained weights and samples a grid with the scheduler and step count given on the command line,
// or one row per scheduler with the same seed (--scheduler all), to compare samplers.
using System.Globalization;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Samples;
using Diffusion.Samples.Sampling;
using Diffusion.Schedulers;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

if (!new SamplingCommandLine().TryParse(args, out SamplingOptions? options, out int exitCode))
{
    return exitCode;
}

using SampleRun run = SampleRun.Start(options.Threads);
UNet unet = LoadUNet(options.Weights);

string[] names = options.Scheduler == "all" ? [.. SamplingOptions.SchedulerNames] : [options.Scheduler];
var rows = new List<Tensor>();
foreach (string name in names)
{
    using INoiseScheduler scheduler = Create(name);
    int steps = options.SamplingSteps ?? UsualSteps.Of(scheduler);
    var watch = System.Diagnostics.Stopwatch.StartNew();
    rows.Add(new DiffusionPipeline(unet, scheduler).Generate(options.Count, steps, options.Seed, cancellationToken: run.Cancellation));
    Console.WriteLine($"{name,-10} {steps,5} steps  {watch.Elapsed.TotalSeconds,6:F1} s");
}

using Tensor grid = cat(rows, 0);
ImageGrid.Save(grid, options.Output, columns: options.Count, scale: Math.Max(1, 96 / unet.Options.ImageSize));
rows.ForEach(r => r.Dispose());
Console.WriteLine($"Wrote {Path.GetFullPath(options.Output)} ({names.Length} row(s): {string.Join(", ", names)}).");
return 0;

static UNet LoadUNet(string path)
{
    if (Directory.Exists(path))
    {
        return BookUNet(PretrainedModel.FromPretrained(path), path); // config.json says the class and its options
    }

    SafeTensorsHeader header = SafeTensors.ReadHeader(path);
    if (header.Metadata.TryGetValue("hidden_dims", out string? dims) && header.Metadata.TryGetValue("image_size", out string? size))
    {
        // A unet-ema.safetensors from before the Flowers sample wrote a folder: its options were two metadata entries.
        var unet = new UNet(new UNetOptions
        {
            HiddenDims = [.. dims.Split(',').Select(d => int.Parse(d, CultureInfo.InvariantCulture))],
            ImageSize = int.Parse(size, CultureInfo.InvariantCulture),
        });
        unet.LoadSafeTensors(path);
        return unet;
    }

    if (header.Metadata.ContainsKey("diffusion.model.config"))
    {
        return BookUNet(TrainingCheckpoint.LoadModel(path), path); // a trainer checkpoint that records its model's config
    }

    // An older trainer checkpoint: infer the widths from the down blocks' shapes.
    int[] widths = [.. header.Entries.Where(e => e.Name.StartsWith("model.down_blocks.", StringComparison.Ordinal) && e.Name.EndsWith(".0.conv1.weight", StringComparison.Ordinal))
        .OrderBy(e => e.Name, StringComparer.Ordinal).Select(e => (int)e.Shape[0])];
    int last = (int)(header.Entries.FirstOrDefault(e => e.Name == "model.mid_block1.conv1.weight")?.Shape[0]
        ?? throw new InvalidDataException($"{path}: neither a U-Net folder, nor unet-ema metadata, nor a trainer checkpoint's U-Net weights."));
    var model = new UNet(new UNetOptions { HiddenDims = [.. widths, last], ImageSize = 32 });
    TrainingCheckpoint.LoadWeights(path, model);
    return model;
}

static UNet BookUNet(nn.Module model, string path)
{
    if (model is UNet unet)
    {
        return unet;
    }

    model.Dispose();
    throw new InvalidDataException($"{path}: holds a {model.GetType().Name}; this sample draws with the book's UNet (samples/Pretrained runs diffusers folders).");
}

// The book's DDIM sampler, or any other on the book's clipped-cosine training schedule (the options' other defaults).
static INoiseScheduler Create(string name) => name == "ddim-book"
    ? new DdimScheduler(DdimSchedulerOptions.Book)
    : SchedulerConfig.FromJson($"{{\"_class_name\": \"{SamplerNames.DiffusersClass(name)}\", \"beta_schedule\": \"clipped_cosine\"}}");
