using System.Text;
using Diffusion.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Diffusion.Tests.Fuzz;

/// <summary>
/// Seeded fuzzing of a diffusers <c>UNet2DModel</c> folder: <c>config.json</c> (JSON-aware and byte mutations) and the
/// weights file's header. <see cref="UNet2DModel.FromPretrained"/> opens the folder or refuses it with an
/// <see cref="InvalidDataException"/> that names the file, and never builds a model larger than its weights.
/// </summary>
public sealed class UNet2DModelFolderFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void DamagedFoldersLoadOrAreRefusedWithTheirPath()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        manual_seed(3);
        using (var model = new UNet2DModel(TinyUNet2DModel.Config with { NumClassEmbeds = 3 }))
        {
            model.SavePretrained(temp.Path);
        }

        string config = File.ReadAllText(Path.Combine(temp.Path, UNet2DModel.ConfigFileName));
        byte[] weights = File.ReadAllBytes(Path.Combine(temp.Path, UNet2DModel.WeightsFileName));
        int headerLength = (int)BitConverter.ToUInt64(weights, 0) + 8;
        // Loading reads the whole weights file: allow for that, not just the damaged part.
        var runner = new FuzzRunner("unet2d folder", seed: 21, output)
        {
            AllocationAllowance = 16 << 20,
            MustRefuseWith = kind => FuzzRunner.AlwaysBroken(kind, lengthChecked: kind.StartsWith("weights-", StringComparison.Ordinal)),
        };
        runner.Run(
            200,
            temp.Path,
            random =>
            {
                if (random.Next(3) == 0)
                {
                    (byte[] damaged, string kind) = ByteMutator.Mutate(weights, random, head: headerLength);
                    return ([(UNet2DModel.WeightsFileName, damaged), (UNet2DModel.ConfigFileName, Encoding.UTF8.GetBytes(config))], "weights-" + kind);
                }

                (byte[] bytes, string what) = random.Next(3) == 0
                    ? ByteMutator.Mutate(Encoding.UTF8.GetBytes(config), random, head: config.Length)
                    : Json(JsonMutator.Mutate(config, random));
                return ([(UNet2DModel.ConfigFileName, bytes), (UNet2DModel.WeightsFileName, weights)], "config-" + what);
            },
            _ => UNet2DModel.FromPretrained(temp.Path).Dispose());
    }

    private static (byte[], string) Json((string Json, string Kind) mutated) => (Encoding.UTF8.GetBytes(mutated.Json), "json-" + mutated.Kind);
}
