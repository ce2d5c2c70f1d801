using Diffusion.Tests.Faults;

namespace Diffusion.Tests;

/// <summary>
/// Entry point when this test assembly runs as a child process: the kill tests start
/// <c>dotnet Diffusion.Reliability.Tests.dll train-child DIR STEPS</c> and SIGKILL it at random moments.
/// The test host never calls it.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["train-child", string directory, string steps])
        {
            return TrainingChild.Run(directory, long.Parse(steps, System.Globalization.CultureInfo.InvariantCulture));
        }

        Console.Error.WriteLine("usage: dotnet Diffusion.Reliability.Tests.dll train-child CHECKPOINT_DIR MAX_STEPS");
        return 2;
    }
}
