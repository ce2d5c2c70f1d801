using Diffusion.Data;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.DocsSnippets;

/// <summary>docs/schedulers.md, docs/unet.md and docs/datasets.md.</summary>
internal static class ExistingDocsSnippets
{
    public static Tensor SchedulerLoop(nn.Module<Tensor, Tensor, Tensor> model, long[] shape, Generator generator)
    {
        // <snippet:scheduler-loop>
        using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);      // or new DdimScheduler() for diffusers' defaults
        scheduler.SetTimesteps(50);                                              // 980, 960, …, 0
        Tensor x = torch.randn(shape, generator: generator) * scheduler.InitNoiseSigma;
        for (long i = 0; i < scheduler.Timesteps.shape[0]; i++)
        {
            using var scope = torch.NewDisposeScope();
            Tensor t = scheduler.Timesteps[i];                                   // a 0-dim int64 tensor (float32 for Euler)
            Tensor eps = model.forward(scheduler.ScaleModelInput(x, t), t);
            x = scheduler.Step(eps, t, x, generator).PrevSample.MoveToOuterDisposeScope();
        }
        // </snippet>
        return x;
    }

    public static INoiseScheduler BookScheduler()
    {
        INoiseScheduler scheduler =
            // <snippet:scheduler-book>
            new DdimScheduler(DdimSchedulerOptions.Book)
            // = ClippedCosine betas in [1e-4, 0.02], ClipSample, SetAlphaToOne, Eta = 1, UseClippedModelOutput, Leading
            // </snippet>
            ;
        return scheduler;
    }

    public static void UNetUse(Tensor noisyImages, Tensor timesteps)
    {
        // <snippet:unet-use>
        using var unet = new UNet();                       // the book's configuration, 133,417,219 parameters
        unet.LoadSafeTensors("diffusion.safetensors");     // or LoadTorchStateDict("files/diffusion.pth") (below)
        unet.eval();
        using var _ = torch.no_grad();
        using Tensor noise = unet.call(noisyImages, timesteps); // [N,3,64,64], int64 [N] (or one value) → [N,3,64,64]
        // </snippet>
    }

    public static void UNetLoadStrict()
    {
        // <snippet:unet-load-strict>
        using var unet = new UNet(new UNetOptions { HiddenDims = [128, 256, 512, 1024], ImageSize = 64 });
        unet.LoadSafeTensors("diffusion.safetensors", strict: true); // all 196 keys, shapes checked
        // </snippet>
    }

    public static void Loader(CancellationToken token)
    {
        // <snippet:datasets-loader>
        IImageDataset data = new ProceduralFlowers(count: 4096, imageSize: 32, seed: 0);
        // or ImageFolderDataset.Open("oxford-flowers/jpg", imageSize: 64)
        // or ParquetImageDataset.Open("flowers-102-categories/data", imageSize: 64)

        using var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = 32, Seed = 1 });
        for (int epoch = 0; epoch < 10; epoch++)
        {
            foreach (ImageBatch batch in loader.Epoch(epoch, cancellationToken: token))
            {
                using (batch)
                {
                    Tensor x0 = batch.Images;            // float32 [B,3,S,S] in [0,1]; the trainer does x·2−1
                    IReadOnlyList<string?> text = batch.Captions;
                    Tensor? labels = batch.Labels;       // int64 [B], or null
                }
            }
        }
        // </snippet>
    }
}
