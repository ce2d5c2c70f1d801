using Diffusion.Data;
using Diffusion.Models;
using Diffusion.Schedulers;
using Diffusion.Training;
using static TorchSharp.torch;

namespace Diffusion.Soak;

/// <summary>Trains the same tiny model with 1 and with 2 intra-op threads and says whether the weights are bit-identical.</summary>
internal static class ThreadCountProbe
{
    public static int Run()
    {
        Dictionary<string, Tensor> one = Train(1);
        Dictionary<string, Tensor> two = Train(2);
        double worst = 0;
        int differing = 0;
        foreach ((string name, Tensor a) in one)
        {
            double d = (a - two[name]).abs().max().item<float>();
            worst = Math.Max(worst, d);
            differing += d > 0 ? 1 : 0;
        }

        Console.WriteLine($"1 vs 2 torch threads after 20 steps: {differing} of {one.Count} tensors differ, max |difference| {worst:E2}");
        return 0;
    }

    private static Dictionary<string, Tensor> Train(int threads)
    {
        set_num_threads(threads);
        manual_seed(0);
        var unet = new UNet(new UNetOptions { HiddenDims = [16, 32, 32], ImageSize = 16 });
        new Trainer(unet, new DdimScheduler(DdimSchedulerOptions.Book), new TrainerOptions { MaxSteps = 20, BatchSize = 8, LearningRate = 1e-3, WarmupSteps = 2, UseEma = false })
            .Fit(new ProceduralFlowers(64, 16, seed: 1));
        return unet.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }
}
