using Diffusion.Tests.Support;
using Diffusion.Training;

namespace Diffusion.Tests.Faults;

/// <summary>What the child process does: train the tiny U-Net with a checkpoint after every step, printing each step.</summary>
internal static class TrainingChild
{
    public static TrainerOptions Options(string directory, long steps) => Tiny.Options(directory) with { MaxSteps = steps };

    public static int Run(string directory, long steps)
    {
        // The progress report comes before that step's checkpoint is written: "step k" means
        // checkpoint k − 1 is complete and checkpoint k is about to be written.
        var progress = new SynchronousProgress<TrainingProgress>(p => Console.Out.WriteLine($"step {p.Step}"));
        TrainingResult result = new Trainer(Tiny.UNet(), Tiny.Scheduler(), Options(directory, steps)).Fit(Tiny.Flowers(), progress);
        Console.Out.WriteLine($"done {result.Steps} resumed {result.ResumedFromStep?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}");
        return 0;
    }
}
