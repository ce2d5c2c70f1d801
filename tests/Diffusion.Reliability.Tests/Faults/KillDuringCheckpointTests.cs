using System.Diagnostics;
using System.Globalization;
using Diffusion.Tests.Support;
using Diffusion.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Diffusion.Tests.Faults;

/// <summary>
/// Training in a child process, SIGKILLed at random moments while it writes a checkpoint after every step:
/// the folder must always hold a loadable latest checkpoint, and resuming must reach the same weights as a
/// run that was never interrupted, bit for bit.
/// </summary>
public sealed class KillDuringCheckpointTests(ITestOutputHelper output)
{
    private const int Kills = 6;
    // More steps than six kills reach (in trials at most 25 in all, up to 15 in one kill when steps are fast): a
    // child that reached the target before its kill would end without the steps the loop waits for.
    private const long TargetSteps = 100;
    private static readonly TimeSpan ChildTimeout = TimeSpan.FromSeconds(120);

    [Fact]
    public void EveryKillLeavesALoadableLatestCheckpointAndResumeIsExact()
    {
        using TempDirectory straight = TestEnvironment.CreateTempDirectory();
        using TempDirectory killed = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        new Trainer(Tiny.UNet(), Tiny.Scheduler(), TrainingChild.Options(straight.Path, TargetSteps)).Fit(Tiny.Flowers());

        var random = new Random(20_260_611); // kill delays; the moments still vary with the machine's load
        long latestStep = 0;
        int midWrite = 0;
        for (int kill = 0; kill < Kills; kill++)
        {
            using (var child = ChildProcess.Start("train-child", killed.Path, TargetSteps.ToString(CultureInfo.InvariantCulture)))
            {
                // Two step lines of this run: at least one new checkpoint exists, so every kill makes progress.
                long started = WaitForStep(child, latestStep + 2);
                Assert.True(started > latestStep, $"kill {kill}: the child reported step {started} after a checkpoint at {latestStep}");
                if (kill % 2 == 0)
                {
                    Thread.Sleep(random.Next(0, 150));       // anywhere in a step or a checkpoint write
                }
                else
                {
                    WaitForTemporaryFile(killed.Path);      // inside a checkpoint write
                    Thread.SpinWait(random.Next(0, 20_000));
                }

                child.Kill();
            }

            // The next run deletes what an earlier kill left, so any temporary file now is this kill's.
            bool leftTemporary = Directory.EnumerateFiles(killed.Path, ".checkpoint-*.tmp").Any();
            midWrite += leftTemporary ? 1 : 0;
            string? latest = TrainingCheckpoint.FindLatest(killed.Path);
            Assert.NotNull(latest);
            long step = StepOf(latest);
            Assert.True(step >= latestStep, $"kill {kill}: the latest checkpoint went back from step {latestStep} to {step}");
            using (var probe = Tiny.UNet(seed: 5))
            {
                TrainingCheckpoint.LoadWeights(latest, probe); // throws if the file is damaged
            }

            foreach (var t in Tiny.ReadAll(latest).Values)
            {
                t.Dispose();
            }

            output.WriteLine($"kill {kill}: latest checkpoint step {step}, temporary file left: {leftTemporary}");
            Assert.True(step < TargetSteps - 2, $"kill {kill}: the child reached step {step} of {TargetSteps} before it was killed; raise TargetSteps");
            latestStep = step;
        }

        using (var child = ChildProcess.Start("train-child", killed.Path, TargetSteps.ToString(CultureInfo.InvariantCulture)))
        {
            string? last = null;
            while (child.ReadLine(ChildTimeout) is { } line)
            {
                last = line;
            }

            Assert.Equal(0, child.WaitForExit(ChildTimeout));
            Assert.Equal($"done {TargetSteps} resumed {latestStep}", last);
        }

        output.WriteLine($"{Kills} kills, {midWrite} of them left a temporary file (killed mid-write)");
        Assert.True(midWrite >= 1, "no kill landed inside a checkpoint write");
        Assert.Empty(Directory.EnumerateFiles(killed.Path, "*.tmp", new EnumerationOptions { AttributesToSkip = 0 }));
        Tiny.AssertSameTensors(Tiny.ReadAll(TrainingCheckpoint.FindLatest(straight.Path)!), Tiny.ReadAll(TrainingCheckpoint.FindLatest(killed.Path)!));
    }

    private static long WaitForStep(ChildProcess child, long step)
    {
        while (child.ReadLine(ChildTimeout) is { } line)
        {
            if (line.StartsWith("step ", StringComparison.Ordinal) && long.Parse(line[5..], CultureInfo.InvariantCulture) >= step)
            {
                return long.Parse(line[5..], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"the child ended before step {step}: {child.StandardError}");
    }

    private static void WaitForTemporaryFile(string directory)
    {
        var clock = Stopwatch.StartNew();
        while (!Directory.EnumerateFiles(directory, ".checkpoint-*.tmp").Any())
        {
            Assert.True(clock.Elapsed < ChildTimeout, "no checkpoint was being written");
            Thread.Yield();
        }
    }

    private static long StepOf(string checkpoint) =>
        long.Parse(Path.GetFileNameWithoutExtension(checkpoint)["checkpoint-".Length..], CultureInfo.InvariantCulture);
}
