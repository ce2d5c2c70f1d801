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

    public static void Autoencoder()
    {
        // <snippet:pretrained-autoencoderkl>
        using AutoencoderKL vae = AutoencoderKL.FromPretrained("stable-diffusion-v1-5/vae", dtype: ScalarType.Float32);
        using var scope = torch.NewDisposeScope();
        Tensor image = torch.rand(1, 3, 512, 512) * 2 - 1;      // [N, 3, H, W] in [-1, 1]
        using (DiagonalGaussianDistribution posterior = vae.Encode(image))
        {
            Tensor latent = posterior.Sample(new Generator(42, CPU)) * vae.ScalingFactor;   // what the U-Net sees
            Tensor back = vae.Decode(latent / vae.ScalingFactor);                           // [N, 3, H, W]
        }
        vae.EnableSlicing();   // a batch one image at a time: same images, the memory of one
        vae.EnableTiling();    // large images in overlapping 512×512 tiles (64×64 latents), seams blended as diffusers does
        // </snippet>
    }

    public static void ConditionUNet(Tensor latents, Tensor timestep, Tensor textStates)
    {
        // <snippet:pretrained-unet2dcondition>
        using var unet = UNet2DConditionModel.FromPretrained("stable-diffusion-v1-5/unet", dtype: ScalarType.BFloat16);
        // latents [N, 4, 64, 64] for 512×512 images; text states [N, 77, 768] from the CLIP text encoder (1024 for SD 2)
        using Tensor noise = unet.Forward(latents, timestep, textStates, encoderAttentionMask: null); // [N, 4, 64, 64]
        unet.SavePretrained("my-unet");   // config.json + diffusion_pytorch_model.safetensors; diffusers opens it
        // </snippet>
    }
}
