using Diffusion.Data;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using Diffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.DocsSnippets;

/// <summary>docs/pretrained.md.</summary>
internal static class PretrainedSnippets
{
    public static void Sample()
    {
        // <snippet:pretrained-sample>
        using DiffusionPipeline pipeline = DiffusionPipeline.FromPretrained("ddpm-cifar10-32");   // owns its U-Net and scheduler
        using Tensor images = pipeline.Generate(count: 16, inferenceSteps: 1000, seed: 42);       // [16, 3, 32, 32] in [0, 1]
        ImageGrid.Save(images, "cifar10.png", columns: 4);

        // Any of our schedulers can replace the saved one; it stays yours to dispose.
        using var ddim = new DdimScheduler(new DdimSchedulerOptions());    // diffusers' defaults: linear β, 1000 training steps
        using DiffusionPipeline fast = DiffusionPipeline.FromPretrained("ddpm-cifar10-32", ddim);
        using Tensor quick = fast.Generate(count: 16, inferenceSteps: 50, seed: 42);
        // </snippet>
    }

    public static void Options()
    {
        // <snippet:pretrained-options>
        using UNet2DModel unet = UNet2DModel.FromPretrained(
            "ddpm-ema-flowers-64/unet",
            device: cuda.is_available() ? CUDA : CPU,
            dtype: ScalarType.BFloat16);     // the file's dtype (float32 or float16) is converted on load
        Console.WriteLine(unet.Config);      // every config.json field, diffusers' defaults for missing ones
        // </snippet>
    }

    public static void TrainAndSave(IImageDataset dataset)
    {
        // <snippet:pretrained-train-save>
        using var unet = new UNet2DModel(new UNet2DModelConfig
        {
            SampleSize = 64,
            BlockOutChannels = [128, 128, 256, 256, 512, 512],
            DownBlockTypes = ["DownBlock2D", "DownBlock2D", "DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"],
            UpBlockTypes = ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D"],
        });   // diffusers' train_unconditional.py layout, 113.7 M parameters
        var scheduler = new DdpmScheduler(new DdpmSchedulerOptions());
        new Trainer(unet, scheduler, new TrainerOptions { Epochs = 50, BatchSize = 16 }).Fit(dataset);
        unet.SavePretrained("my-flowers/unet");   // config.json + diffusion_pytorch_model.safetensors (EMA weights)
        // </snippet>
    }

    public static void BookUNetFolder(UNet unet)
    {
        // <snippet:unet-save-pretrained>
        unet.SavePretrained("runs/flowers/unet-ema");          // config.json ("_class_name": "UNet", hidden_dims, image_size, ...)
                                                                // + diffusion_pytorch_model.safetensors, each written atomically
        using var again = UNet.FromPretrained("runs/flowers/unet-ema");                      // same options, same weights
        using nn.Module any = PretrainedModel.FromPretrained("runs/flowers/unet-ema");       // picks the class from _class_name
        // </snippet>
    }
}
