// Opens a diffusers pixel-space pipeline folder (DDPMPipeline or DDIMPipeline, e.g. a git clone of google/ddpm-cifar10-32)
// or a bare UNet2DModel folder, and draws a grid with the folder's scheduler or another one on the same training schedule.
using System.Text.Json.Nodes;
using Diffusion.IO;
using Diffusion.Pipelines;
using Diffusion.Samples;
using Diffusion.Samples.Pretrained;
using Diffusion.Schedulers;
using static TorchSharp.torch;

if (!new PretrainedCommandLine().TryParse(args, out PretrainedOptions? options, out int exitCode))
{
    return exitCode;
}

using SampleRun run = SampleRun.Start(options.Threads);
using DiffusionPipeline saved = DiffusionPipeline.FromPretrained(options.Folder); // owns the model and the saved scheduler
using INoiseScheduler? other = options.Scheduler == "saved" ? null : OnSameSchedule(saved.Scheduler, options.Scheduler);
using var pipeline = other is null ? null : new DiffusionPipeline(saved.Model, other, saved.Channels, saved.ImageSize); // borrows both
DiffusionPipeline sampler = pipeline ?? saved;

int steps = Math.Min(options.SamplingSteps ?? UsualSteps.Of(sampler.Scheduler), sampler.Scheduler.NumTrainTimesteps);
Console.WriteLine($"{options.Folder}: {sampler.Channels}×{sampler.ImageSize}×{sampler.ImageSize} images, {sampler.Scheduler.GetType().Name}, {steps} steps.");
var watch = System.Diagnostics.Stopwatch.StartNew();
using Tensor images = sampler.Generate(options.Count, steps, options.Seed, progress: new SamplingProgressBar(), cancellationToken: run.Cancellation);
Console.WriteLine($"Sampled {options.Count} image(s) in {watch.Elapsed.TotalSeconds:F1} s.");

string? directory = Path.GetDirectoryName(Path.GetFullPath(options.Output));
Directory.CreateDirectory(directory!);
ImageGrid.Save(images, options.Output, columns: Math.Min(options.Count, 8), scale: Math.Max(1, 64 / sampler.ImageSize));
Console.WriteLine($"Wrote {Path.GetFullPath(options.Output)}.");
return 0;

// Like diffusers' XScheduler.from_config(saved.config): the new sampler keeps the training schedule (the keys every
// scheduler shares); the saved scheduler's other settings (clip_sample, variance_type, ...) stay with its own class.
static INoiseScheduler OnSameSchedule(INoiseScheduler saved, string name)
{
    string className = SamplerNames.DiffusersClass(name);
    JsonObject config = JsonNode.Parse(SchedulerConfig.ToJson(saved))!.AsObject();
    if ((string?)config["_class_name"] != className)
    {
        string[] shared = ["num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "prediction_type"];
        foreach (string key in config.Select(p => p.Key).Where(k => !shared.Contains(k)).ToList())
        {
            config.Remove(key);
        }

        config["_class_name"] = className;
    }

    return SchedulerConfig.FromJson(config.ToJsonString());
}
