namespace Diffusion.Samples;

/// <summary>The scheduler names the samples' <c>--scheduler</c> options take, and the diffusers class each names.</summary>
public static class SamplerNames
{
    /// <summary>The names, in the order the samples list them.</summary>
    public static IReadOnlyList<string> All { get; } = ["ddim", "ddpm", "euler", "dpm++", "euler-a", "pndm", "lms", "heun", "unipc"];

    /// <summary>diffusers' <c>_class_name</c> of a name in <see cref="All"/>, as <c>SchedulerConfig.FromJson</c> reads it.</summary>
    /// <param name="name">A name in <see cref="All"/>.</param>
    /// <returns>The class name.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The name is not one of <see cref="All"/>.</exception>
    public static string DiffusersClass(string name) => name switch
    {
        "ddim" => "DDIMScheduler",
        "ddpm" => "DDPMScheduler",
        "euler" => "EulerDiscreteScheduler",
        "dpm++" => "DPMSolverMultistepScheduler",
        "euler-a" => "EulerAncestralDiscreteScheduler",
        "pndm" => "PNDMScheduler",
        "lms" => "LMSDiscreteScheduler",
        "heun" => "HeunDiscreteScheduler",
        "unipc" => "UniPCMultistepScheduler",
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, $"not a scheduler name; expected one of {string.Join(", ", All)}."),
    };
}
