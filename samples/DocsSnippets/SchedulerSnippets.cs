using Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.DocsSnippets;

/// <summary>docs/schedulers.md: Stable Diffusion's schedulers and the image-to-image start.</summary>
internal static class SchedulerSnippets
{
    public static void StableDiffusionSchedulers()
    {
        // <snippet:scheduler-sd>
        // Stable Diffusion 1.x's own scheduler (PLMS), and "Euler a" on the same training schedule.
        using var pndm = new PNDMScheduler(new PNDMSchedulerOptions
        {
            BetaSchedule = BetaSchedule.ScaledLinear, BetaStart = 0.00085, BetaEnd = 0.012,
            SkipPrkSteps = true, StepsOffset = 1, SetAlphaToOne = false,
        });
        using var eulerA = new EulerAncestralDiscreteScheduler(new EulerAncestralDiscreteSchedulerOptions
        {
            BetaSchedule = BetaSchedule.ScaledLinear, BetaStart = 0.00085, BetaEnd = 0.012,
            TimestepSpacing = TimestepSpacing.Leading, StepsOffset = 1,
        });
        pndm.SetTimesteps(50);      // 51 timesteps: 981, 961, 961, 941, …, 1 (one model call each)
        eulerA.SetTimesteps(30);    // 30 timesteps, each Step adds fresh noise from your generator
        // </snippet>
    }

    public static INoiseScheduler SwapFromConfig(string folder)
    {
        // <snippet:scheduler-swap>
        // diffusers' EulerAncestralDiscreteScheduler.from_config(pipe.scheduler.config): same keys, another class.
        string json = File.ReadAllText(Path.Combine(folder, "scheduler", "scheduler_config.json"))
            .Replace("\"PNDMScheduler\"", "\"EulerAncestralDiscreteScheduler\"", StringComparison.Ordinal);
        INoiseScheduler scheduler = SchedulerConfig.FromJson(json); // skip_prk_steps, set_alpha_to_one: logged, ignored
        // </snippet>
        return scheduler;
    }

    public static Tensor ImageToImage(nn.Module<Tensor, Tensor, Tensor> model, Tensor latents, Generator generator)
    {
        // <snippet:scheduler-img2img>
        using INoiseScheduler scheduler = SchedulerConfig.Load("stable-diffusion-v1-5/scheduler/scheduler_config.json");
        using Tensor timesteps = ImageToImageTimesteps.ForStrength(scheduler, inferenceSteps: 50, strength: 0.6);
        Tensor x = scheduler.AddNoise(latents, torch.randn(latents.shape, generator: generator), timesteps[..1]);
        for (long i = 0; i < timesteps.shape[0]; i++)
        {
            using var scope = torch.NewDisposeScope();
            Tensor t = timesteps[i];
            Tensor eps = model.forward(scheduler.ScaleModelInput(x, t), t);
            x = scheduler.Step(eps, t, x, generator).PrevSample.MoveToOuterDisposeScope();
        }
        // </snippet>
        return x;
    }
}
