using Diffusion.IO;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.DocsSnippets;

/// <summary>docs/concepts.md.</summary>
internal static class ConceptsSnippets
{
    public static void ForwardDiffusionByHand(Tensor image)
    {
        // <snippet:concepts-forward>
        using var scheduler = new DdimScheduler(DdimSchedulerOptions.Book);
        using Tensor x0 = image.unsqueeze(0) * 2 - 1;                  // [1,3,H,W] from [0,1] to [-1,1]
        using Tensor noise = torch.randn_like(x0);                     // ε ~ N(0, I)
        using Tensor t = torch.tensor(new long[] { 400 });             // one timestep per image
        using Tensor xt = scheduler.AddNoise(x0, noise, t);            // √ᾱ₄₀₀·x0 + √(1 − ᾱ₄₀₀)·ε
        using Tensor row = ForwardDiffusion.Sample(image, scheduler);  // t = 0, 200, 400, 600, 800, 999
        ImageGrid.Save(row, "forward-diffusion.png", columns: 6);
        // </snippet>
    }

    public static void Choose()
    {
        // <snippet:concepts-choose>
        using var book = new DdimScheduler(DdimSchedulerOptions.Book);                 // the book: DDIM, η = 1, 50 steps
        using var ddim = new DdimScheduler();                                          // diffusers' DDIM, η = 0: deterministic
        using var fast = new DpmSolverMultistepScheduler(new DpmSolverMultistepSchedulerOptions
        {
            BetaSchedule = BetaSchedule.ClippedCosine,                                 // the schedule the model was trained with
            UseKarrasSigmas = true,                                                    // "DPM++ 2M Karras", 20 steps
        });
        using INoiseScheduler fromFile = SchedulerConfig.Load("scheduler_config.json"); // a diffusers model's scheduler
        // </snippet>
    }
}
