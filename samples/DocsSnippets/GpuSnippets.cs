using Diffusion.Clip;
using Diffusion.Data;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Runtime;
using Diffusion.Schedulers;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.DocsSnippets;

/// <summary>docs/gpu.md.</summary>
internal static class GpuSnippets
{
    public static void Use(IImageDataset dataset)
    {
        // <snippet:gpu-use>
        TorchRuntime.EnsureAvailable();                          // loads libtorch; explains a failure
        Device device = torch.cuda.is_available() ? CUDA : CPU;
        Console.WriteLine($"{device.type}: {torch.cuda.device_count()} GPU(s)");

        using var unet = new UNet(new UNetOptions { HiddenDims = [64, 128, 256, 512], ImageSize = 64 });
        using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
        var trainer = new Trainer(unet, scheduler, new TrainerOptions { Device = device, BatchSize = 64, BFloat16 = true });
        trainer.Fit(dataset);                                    // moves the model to the device; batches follow

        using Tensor images = new DiffusionPipeline(unet, scheduler).Generate(count: 64, seed: 1); // runs where the model is; returns CPU tensors
        ImageGrid.Save(images, "samples.png");

        using var clip = ClipModel.Load("clip-vit-base-patch32/", device);
        // </snippet>
    }
}
