using System.Text.Json.Nodes;
using Diffusion.Tests.Support;
using Diffusion.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Diffusion.Tests.Fuzz;

/// <summary>
/// Seeded fuzzing of training checkpoints: damaged files (bytes, safetensors header, the training-state
/// JSON) must load, or be refused with an <see cref="InvalidDataException"/> naming the file, by
/// <see cref="TrainingCheckpoint.LoadWeights"/> and by <see cref="Trainer.Fit"/> resuming from them.
/// </summary>
public sealed class CheckpointFuzzTests(ITestOutputHelper output)
{
    private const string StateKey = "diffusion.training.state";
    private const string FileName = "checkpoint-00000002.safetensors";

    [Fact]
    public void DamagedCheckpointsLoadOrAreRefusedWithTheirPath()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var data = Tiny.Flowers(8, imageSize: 8);
        TrainerOptions options = Tiny.Options(temp.Path) with { MaxSteps = 2, LoaderWorkers = 1 };
        Tiny.ConvTrainer(Tiny.Conv(), options).Fit(data);
        byte[] original = File.ReadAllBytes(Path.Combine(temp.Path, FileName));
        foreach (string file in Directory.GetFiles(temp.Path))
        {
            File.Delete(file);
        }

        var conv = Tiny.Conv();
        int resumes = 0;
        var runner = new FuzzRunner("checkpoint", seed: 12, output)
        {
            // Fit: a checkpoint from "another run" (documented), or weights damaged into NaN that then train.
            Allowed = [typeof(InvalidOperationException), typeof(NonFiniteLossException)],
            MustNamePath = e => e is not NonFiniteLossException,
            MustRefuseWith = kind => FuzzRunner.AlwaysBroken(kind, lengthChecked: true),
        };
        runner.Run(
            1000,
            temp.Path,
            random =>
            {
                (string header, byte[] tensors) = SafeTensorsBytes.Split(original);
                int choice = random.Next(5);
                if (choice == 0)
                {
                    (byte[] bytes, string kind) = ByteMutator.Mutate(original, random, head: 8 + header.Length);
                    return ([(FileName, bytes)], kind);
                }

                if (choice == 1)
                {
                    (string json, string kind) = JsonMutator.Mutate(header, random);
                    return ([(FileName, SafeTensorsBytes.Build(json, tensors))], "header-" + kind);
                }

                JsonNode root = JsonNode.Parse(header)!;
                if (choice == 4)
                {
                    // The generator state's mt19937 fields (bytes 8–23): libtorch ends the process on a bad one.
                    long start = 8 + header.Length + root["rng.generator"]!["data_offsets"]![0]!.GetValue<long>();
                    byte[] bytes = (byte[])original.Clone();
                    for (int flips = random.Next(1, 4); flips > 0; flips--)
                    {
                        bytes[start + random.Next(8, 24)] ^= (byte)(1 << random.Next(8));
                    }

                    return ([(FileName, bytes)], "generator-fields");
                }

                string state = root["__metadata__"]![StateKey]!.GetValue<string>();
                (string damaged, string stateKind) = JsonMutator.Mutate(state, random);
                root["__metadata__"]![StateKey] = damaged;
                return ([(FileName, SafeTensorsBytes.Build(root.ToJsonString(), tensors))], "state-" + stateKind);
            },
            paths => TrainingCheckpoint.LoadWeights(paths[0], conv),
            paths =>
            {
                // A damaged file that loads may still hold a bad training state: resume from every third one.
                if (resumes++ % 3 != 0)
                {
                    return;
                }

                try
                {
                    Tiny.ConvTrainer(conv, options with { MaxSteps = 3 }).Fit(data);
                }
                finally
                {
                    foreach (string other in Directory.GetFiles(temp.Path).Where(f => f != paths[0]))
                    {
                        File.Delete(other);
                    }
                }
            });
    }
}
