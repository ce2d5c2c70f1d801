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

    public static void LmsSchedule()
    {
        // <snippet:scheduler-lms>
        using var lms = new LmsDiscreteScheduler(new LmsDiscreteSchedulerOptions
        {
            BetaSchedule = BetaSchedule.ScaledLinear, BetaStart = 0.00085, BetaEnd = 0.012,   // Stable Diffusion's betas
            TimestepSpacing = TimestepSpacing.Leading, StepsOffset = 1,
        });
        lms.SetTimesteps(50);                                                   // float32: 981, 961, …, 1
        // </snippet>
    }

    public static Tensor HeunLoop(nn.Module<Tensor, Tensor, Tensor> model, long[] shape, Generator generator)
    {
        // <snippet:scheduler-heun>
        using var heun = new HeunDiscreteScheduler(new HeunDiscreteSchedulerOptions { UseKarrasSigmas = true });
        heun.SetTimesteps(25);                                                  // 49 model calls
        Tensor x = torch.randn(shape, generator: generator) * heun.InitNoiseSigma;
        for (long i = 0; i < heun.Timesteps.shape[0]; i++)
        {
            using var scope = torch.NewDisposeScope();
            Tensor t = heun.Timesteps[i];
            Tensor eps = model.forward(heun.ScaleModelInput(x, t), t);
            x = heun.Step(eps, t, x).PrevSample.MoveToOuterDisposeScope();
        }
        // </snippet>
        return x;
    }

    public static void UniPCFromConfig()
    {
        // <snippet:scheduler-unipc>
        using var unipc = (UniPCMultistepScheduler)SchedulerConfig.FromJson("""
            {"_class_name": "UniPCMultistepScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085,
             "beta_end": 0.012, "solver_order": 2, "use_karras_sigmas": true}
            """);
        unipc.SetTimesteps(15);
        // </snippet>
    }
}
