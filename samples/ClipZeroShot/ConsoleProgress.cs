namespace Diffusion.Samples.ClipZeroShot;

/// <summary>Prints every <c>every</c>-th step.</summary>
internal sealed class ConsoleProgress(int every) : IProgress<Diffusion.Clip.ClipTrainingProgress>
{
    public void Report(Diffusion.Clip.ClipTrainingProgress value)
    {
        if (value.Step % every == 0 || value.Step == value.TotalSteps)
        {
            Console.WriteLine($"  step {value.Step,5}/{value.TotalSteps}: loss {value.Loss:F3}, lr {value.LearningRate:E1}, temperature {value.LogitScale:F1}, {value.Elapsed:mm\\:ss}");
        }
    }
}
