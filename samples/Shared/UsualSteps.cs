using Diffusion.Schedulers;

namespace Diffusion.Samples;

/// <summary>The step count each scheduler is usually run with, for samples whose user gave none.</summary>
public static class UsualSteps
{
    /// <summary>DDPM 1000; Euler, Euler ancestral and LMS 30; DPM-Solver++ and UniPC 20; Heun 15 (two model calls each); DDIM, PNDM 50.</summary>
    /// <param name="scheduler">The scheduler.</param>
    /// <returns>Inference steps.</returns>
    public static int Of(INoiseScheduler scheduler) => scheduler switch
    {
        DdpmScheduler => 1000,
        EulerDiscreteScheduler or EulerAncestralDiscreteScheduler or LmsDiscreteScheduler => 30,
        DpmSolverMultistepScheduler or UniPCMultistepScheduler => 20,
        HeunDiscreteScheduler => 15, // two model calls per step
        _ => 50,
    };
}
