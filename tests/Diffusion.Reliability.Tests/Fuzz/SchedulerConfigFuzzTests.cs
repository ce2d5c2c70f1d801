using System.Text;
using Diffusion.Schedulers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Diffusion.Tests.Fuzz;

/// <summary>
/// Seeded fuzzing of <c>scheduler_config.json</c>: a damaged config must load, or be refused by
/// <see cref="SchedulerConfig.Load"/> with an <see cref="InvalidDataException"/> naming the file; a config
/// that loads must then set timesteps and step (or refuse the step count with the documented
/// <see cref="ArgumentOutOfRangeException"/>). Values are bounded: no config makes the scheduler allocate
/// more than a few megabytes.
/// </summary>
public sealed class SchedulerConfigFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void DamagedConfigsLoadOrAreRefusedWithTheirPath()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string[] originals = [.. Originals()];
        var runner = new FuzzRunner("scheduler config", seed: 13, output)
        {
            Allowed = [typeof(ArgumentOutOfRangeException)],
            MustNamePath = e => e is not ArgumentOutOfRangeException,
            MustRefuseWith = kind => FuzzRunner.AlwaysBroken(kind, lengthChecked: false),
        };
        INoiseScheduler? loaded = null;
        runner.Run(
            1200,
            temp.Path,
            random =>
            {
                string original = originals[random.Next(originals.Length)];
                if (random.Next(3) == 0)
                {
                    (byte[] bytes, string kind) = ByteMutator.Mutate(Encoding.UTF8.GetBytes(original), random, head: original.Length);
                    return ([("scheduler_config.json", bytes)], kind);
                }

                (string json, string jsonKind) = JsonMutator.Mutate(original, random);
                if (random.Next(4) == 0)
                {
                    (json, string second) = JsonMutator.Mutate(json, random);
                    jsonKind += "+" + second;
                }

                return ([("scheduler_config.json", Encoding.UTF8.GetBytes(json))], "json-" + jsonKind);
            },
            paths => loaded = SchedulerConfig.Load(paths[0]),
            _ =>
            {
                using var scheduler = (IDisposable)loaded!;
                using var scope = NewDisposeScope();
                INoiseScheduler s = loaded!;
                s.SetTimesteps(Math.Min(10, s.NumTrainTimesteps));
                Tensor sample = ones(1, 1, 2, 2) * s.InitNoiseSigma;
                Tensor t = s.Timesteps[0];
                s.Step(zeros(1, 1, 2, 2), t, s.ScaleModelInput(sample, t), varianceNoise: zeros(1, 1, 2, 2));

                // At the first inference timestep: a training timestep for DDPM/DDIM, and one of the schedule for the
                // σ-space schedulers (whose Karras σ make it fractional, so T − 1 need not be there).
                s.AddNoise(zeros(1, 1, 2, 2), ones(1, 1, 2, 2), t.reshape(1));
            });
    }

    private static IEnumerable<string> Originals()
    {
        INoiseScheduler[] schedulers =
        [
            new DdpmScheduler(),
            new DdimScheduler(DdimSchedulerOptions.Book),
            new EulerDiscreteScheduler(new EulerDiscreteSchedulerOptions { UseKarrasSigmas = true }),
            new DpmSolverMultistepScheduler(new DpmSolverMultistepSchedulerOptions { SolverOrder = 3, NumTrainTimesteps = 20, TrainedBetas = [.. Enumerable.Range(1, 20).Select(i => i / 100.0)] }),
            new EulerAncestralDiscreteScheduler(new EulerAncestralDiscreteSchedulerOptions { PredictionType = PredictionType.VPrediction, RescaleBetasZeroSnr = true }),
            new PNDMScheduler(new PNDMSchedulerOptions { BetaSchedule = BetaSchedule.ScaledLinear, BetaStart = 0.00085, BetaEnd = 0.012, SkipPrkSteps = true, StepsOffset = 1 }),
            new PNDMScheduler(new PNDMSchedulerOptions { NumTrainTimesteps = 40 }),
            new LmsDiscreteScheduler(new LmsDiscreteSchedulerOptions { UseKarrasSigmas = true, LmsOrder = 3 }),
            new HeunDiscreteScheduler(new HeunDiscreteSchedulerOptions { ClipSample = true, BetaSchedule = BetaSchedule.ScaledLinear }),
            new UniPCMultistepScheduler(new UniPCMultistepSchedulerOptions { SolverOrder = 3, SolverType = UniPCSolverType.Bh1, DisableCorrector = [0], SigmaMax = 12 }),
        ];
        foreach (INoiseScheduler scheduler in schedulers)
        {
            yield return SchedulerConfig.ToJson(scheduler);
            ((IDisposable)scheduler).Dispose();
        }
    }
}
