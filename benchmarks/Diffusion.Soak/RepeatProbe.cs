using Diffusion.Data;
using Diffusion.Models;
using Diffusion.Schedulers;
using Diffusion.Training;
using static TorchSharp.torch;

namespace Diffusion.Soak;

/// <summary>
/// Trains the same tiny model three times in one process — twice alike, once with full garbage collections
/// every 10 steps — and says whether the weights are bit-identical: is a run repeatable, and does the timing of
/// the GC (which moves native frees, hence buffer addresses) change the numbers?
/// </summary>
internal static class RepeatProbe
{
    public static int Run(int steps)
    {
        Dictionary<string, Tensor> first = Train(steps, collect: false);
        Dictionary<string, Tensor> second = Train(steps, collect: false);
        Dictionary<string, Tensor> collected = Train(steps, collect: true);
        Console.WriteLine($"{steps} steps, same process: repeat {Compare(first, second)}; with GCs every 10 steps {Compare(first, collected)}");
        return 0;
    }

    private static string Compare(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b)
    {
        double worst = 0;
        int differing = 0;
        foreach ((string name, Tensor x) in a)
        {
            double d = (x - b[name]).abs().max().item<float>();
            worst = Math.Max(worst, d);
            differing += d > 0 ? 1 : 0;
        }

        return differing == 0 ? "bit-identical" : $"{differing} of {a.Count} tensors differ, max |difference| {worst:E2}";
    }

    private static Dictionary<string, Tensor> Train(int steps, bool collect)
    {
        manual_seed(0);
        var unet = new UNet(new UNetOptions { HiddenDims = [16, 32, 32], ImageSize = 16 });
        var progress = new Reporter<TrainingProgress>(p =>
        {
            if (collect && p.Step % 10 == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        new Trainer(unet, new DdimScheduler(DdimSchedulerOptions.Book), new TrainerOptions { MaxSteps = steps, BatchSize = 8, LearningRate = 1e-3, WarmupSteps = 50, LoaderWorkers = 2 })
            .Fit(new ProceduralFlowers(512, 16, seed: 1), progress);
        return unet.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }
}
