using Diffusion.Data;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.DocsSnippets;

/// <summary>docs/memory.md.</summary>
internal static class MemorySnippets
{
    public static void Loop(UNet unet, Tensor x0)
    {
        // <snippet:memory-loop>
        using var scheduler = new DdpmScheduler();
        for (int step = 0; step < 1000; step++)
        {
            using var scope = torch.NewDisposeScope();          // every tensor made below is disposed at the end of the iteration
            Tensor noise = torch.randn_like(x0);
            Tensor t = torch.randint(0, 1000, [x0.shape[0]], dtype: ScalarType.Int64);
            Tensor loss = nn.functional.mse_loss(unet.call(scheduler.AddNoise(x0, noise, t), t), noise);
            loss.backward();                                     // (optimizer step omitted)
        }
        // </snippet>
    }

    // <snippet:memory-move-out>
    static Tensor Denoise(UNet unet, INoiseScheduler scheduler, Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        foreach (Tensor t in scheduler.Timesteps.split(1))
        {
            Tensor eps = unet.call(scheduler.ScaleModelInput(x, t), t);
            x = scheduler.Step(eps, t, x).PrevSample;           // intermediate samples die with the scope…
        }

        return x.MoveToOuterDisposeScope();                     // …except the one returned: the caller owns it
    }
    // </snippet>

    public static void Owned(UNet unet, IImageDataset dataset)
    {
        // <snippet:memory-ownership>
        using var scheduler = new DdimScheduler();               // owns Timesteps and AlphasCumprod
        var pipeline = new DiffusionPipeline(unet, scheduler);
        using (Tensor images = pipeline.Generate(count: 4))      // returned tensors are yours: dispose them
        using (ImageItem item = dataset.GetItem(0))              // so are dataset items (and loader batches)
        {
            Console.WriteLine($"{images.shape[0]} images; item 0 is '{item.Caption}'");
        }

        Tensor timesteps = scheduler.Timesteps;                  // borrowed: do not dispose; replaced by the next SetTimesteps
        // </snippet>
    }

    public static void Count()
    {
        // <snippet:memory-count>
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;   // live tensors made on this thread
        // … run a few steps …
        Console.WriteLine($"tensors left behind: {DisposeScopeManager.Statistics.ThreadTotalLiveCount - before}");
        // </snippet>
    }
}
