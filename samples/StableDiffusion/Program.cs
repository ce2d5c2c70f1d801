// Opens a diffusers Stable Diffusion folder (a download of stable-diffusion-v1-5/stable-diffusion-v1-5 or
// stabilityai/stable-diffusion-2-1-base, see docs/stable-diffusion.md) and draws a prompt: from noise, or from --init-image.
using Diffusion.IO;
using Diffusion.Pipelines;
using Diffusion.Samples;
using Diffusion.Samples.Pretrained;
using Diffusion.Samples.StableDiffusion;
using SkiaSharp;
using static TorchSharp.torch;

if (!new StableDiffusionCommandLine().TryParse(args, out StableDiffusionOptions? options, out int exitCode))
{
    return exitCode;
}

using SampleRun run = SampleRun.Start(options.Threads);
if (options.Device == "cuda" && !cuda.is_available())
{
    throw new UsageException("--device cuda was asked for, but TorchSharp finds no CUDA device (this build references the CPU libtorch).");
}

Device device = options.Device == "cuda" ? CUDA : CPU;
ScalarType dtype = options.DType switch { "float16" => ScalarType.Float16, "bfloat16" => ScalarType.BFloat16, _ => ScalarType.Float32 };
var watch = System.Diagnostics.Stopwatch.StartNew();
using StableDiffusionPipeline pipeline = StableDiffusionPipeline.FromPretrained(options.Folder, device, dtype);
int steps = options.Steps ?? UsualSteps.Of(pipeline.Scheduler);
Console.WriteLine($"{options.Folder}: loaded in {watch.Elapsed.TotalSeconds:F1} s ({pipeline.Scheduler.GetType().Name}, {options.Device}, {options.DType}).");

watch.Restart();
Tensor images;
if (options.InitImage is { } path)
{
    using SKBitmap bitmap = SKBitmap.Decode(path) ?? throw new UsageException($"--init-image {path} is not an image SkiaSharp can read.");
    using Tensor init = TensorImage.FromBitmap(bitmap); // [3, H, W] in [0, 1]
    Console.WriteLine($"Image to image: {bitmap.Width}×{bitmap.Height}, strength {options.Strength}, {steps} steps, guidance {options.Guidance}.");
    images = pipeline.ImageToImage(init, options.Prompt, options.Strength, options.Negative, steps, options.Guidance, options.Seed,
        new SamplingProgressBar(), run.Cancellation);
}
else
{
    int size = options.Size ?? pipeline.DefaultImageSize;
    Console.WriteLine($"Text to image: {size}×{size}, {options.Count} image(s), {steps} steps, guidance {options.Guidance}.");
    images = pipeline.Generate(options.Prompt, options.Negative, size, size, steps, options.Guidance, options.Seed, options.Count,
        new SamplingProgressBar(), run.Cancellation);
}

using (images)
{
    Console.WriteLine($"Sampled in {watch.Elapsed.TotalSeconds:F1} s.");
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Output))!);
    ImageGrid.Save(images, options.Output, columns: Math.Min((int)images.shape[0], 4));
}

Console.WriteLine($"Wrote {Path.GetFullPath(options.Output)}.");
return 0;
