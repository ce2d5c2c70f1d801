using System.Text;
using Diffusion.Clip;
using Diffusion.Tests.Support;
using Xunit.Abstractions;

namespace Diffusion.Tests.Fuzz;

/// <summary>
/// Seeded fuzzing of a CLIP folder's <c>config.json</c> and <c>preprocessor_config.json</c>: <see cref="ClipModel.Load"/>
/// opens the folder or refuses it with an <see cref="InvalidDataException"/> that names the folder or the file,
/// and never builds a model bigger than its weights file.
/// </summary>
public sealed class ClipFolderFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void DamagedConfigsLoadOrAreRefusedWithTheirPath()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        using (ClipModel clip = Tiny.Clip())
        {
            clip.Save(temp.Path);
        }

        string config = File.ReadAllText(Path.Combine(temp.Path, ClipModel.ConfigFileName));
        string preprocessor = File.ReadAllText(Path.Combine(temp.Path, ClipModel.PreprocessorConfigFileName));
        // Loading reads the whole folder (weights, tokenizer): allow for that, not just the damaged file.
        var runner = new FuzzRunner("clip folder", seed: 15, output) 
        {
            MustNamePath = _ => false,
            AllocationAllowance = 16 << 20,
            MustRefuseWith = kind => FuzzRunner.AlwaysBroken(kind, lengthChecked: false),
        };
        runner.Run(
            250,
            temp.Path,
            random =>
            {
                bool first = random.Next(4) != 0;
                string name = first ? ClipModel.ConfigFileName : ClipModel.PreprocessorConfigFileName;
                string original = first ? config : preprocessor;
                string other = first ? preprocessor : config;
                string otherName = first ? ClipModel.PreprocessorConfigFileName : ClipModel.ConfigFileName;
                (byte[] bytes, string kind) = random.Next(3) == 0
                    ? ByteMutator.Mutate(Encoding.UTF8.GetBytes(original), random, head: original.Length)
                    : Json(JsonMutator.Mutate(original, random));
                return ([(name, bytes), (otherName, Encoding.UTF8.GetBytes(other))], name + "-" + kind);
            },
            _ =>
            {
                try
                {
                    ClipModel.Load(temp.Path).Dispose();
                }
                catch (InvalidDataException e) when (!e.Message.Contains(temp.Path, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"the error does not name the folder or a file in it: {e.Message}", e);
                }
            });
    }

    private static (byte[], string) Json((string Json, string Kind) mutated) => (Encoding.UTF8.GetBytes(mutated.Json), "json-" + mutated.Kind);
}
