using Diffusion.IO;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Diffusion.Tests.Fuzz;

/// <summary>
/// Seeded fuzzing of the safetensors reader: damaged bytes and damaged headers must give an
/// <see cref="InvalidDataException"/> naming the file, or read as a valid file, and never more than a
/// bounded allocation, a hang or a native crash.
/// </summary>
public sealed class SafeTensorsFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void DamagedFilesAreReadOrRefusedWithTheirPath()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        byte[][] originals = [.. Originals(temp.Path)];
        using var module = new Probe();
        var runner = new FuzzRunner("safetensors", seed: 11, output)
        {
            // The header length must match the header, the offsets must cover the data exactly, and the data's SHA-256
            // (recorded on save) must match: a wrong declared length, any cut or flipped data byte is refused.
            MustRefuseWith = kind => kind is "header-length" or "data-bit-flips" ? string.Empty : FuzzRunner.AlwaysBroken(kind, lengthChecked: true),
        };
        runner.Run(
            2000,
            temp.Path,
            random =>
            {
                byte[] original = originals[random.Next(originals.Length)];
                (string header, byte[] data) = SafeTensorsBytes.Split(original);
                int choice = random.Next(10);
                if (choice < 4)
                {
                    (string json, string kind) = JsonMutator.Mutate(header, random);
                    return ([("f.safetensors", SafeTensorsBytes.Build(json, data))], "header-" + kind);
                }

                if (choice == 4)
                {
                    // A header length that disagrees with the file, near the truth or anywhere.
                    long offset = random.Next(1, 17) * (random.Next(2) == 0 ? -1 : 1);
                    ulong declared = random.Next(2) == 0 ? (ulong)(header.Length + offset) : (ulong)random.NextInt64();
                    declared = declared == (ulong)header.Length ? declared + 1 : declared;
                    return ([("f.safetensors", SafeTensorsBytes.Build(System.Text.Encoding.UTF8.GetBytes(header), data, declared))], "header-length");
                }

                if (choice == 5 && data.Length > 0)
                {
                    // Damage inside the data only: the header stays valid, so only the checksum can tell.
                    byte[] flipped = (byte[])data.Clone();
                    flipped[random.Next(flipped.Length)] ^= (byte)(1 << random.Next(8));
                    return ([("f.safetensors", SafeTensorsBytes.Build(header, flipped))], "data-bit-flips");
                }

                (byte[] bytes, string byteKind) = ByteMutator.Mutate(original, random, head: 8 + header.Length);
                return ([("f.safetensors", bytes)], byteKind);
            },
            paths =>
            {
                foreach (Tensor t in SafeTensors.Load(paths[0]).Values)
                {
                    t.Dispose();
                }

                module.LoadSafeTensors(paths[0], strict: false);
            });
    }

    // Small valid files: every dtype, a 0-dim and an empty tensor, with and without metadata.
    private static IEnumerable<byte[]> Originals(string directory)
    {
        string path = Path.Combine(directory, "original.safetensors");
        using (var scope = NewDisposeScope())
        {
            SafeTensors.Save(
                new Dictionary<string, Tensor>
                {
                    ["weight"] = arange(6, float32).reshape(2, 3),
                    ["bias"] = ones(3, float16),
                    ["steps"] = tensor(7L),
                    ["mask"] = tensor(new[] { true, false }),
                    ["bytes"] = arange(5, ScalarType.Byte),
                    ["empty"] = zeros([0, 4], bfloat16),
                },
                path,
                new Dictionary<string, string> { ["format"] = "pt", ["note"] = "fuzz" });
            yield return File.ReadAllBytes(path);
            SafeTensors.Save(new Dictionary<string, Tensor> { ["weight"] = ones(3, 1, 1, 1, float64), ["bias"] = zeros(3, int32) }, path);
            yield return File.ReadAllBytes(path);
        }
    }

    // A module whose state-dict keys overlap the files' (weight, bias), so non-strict loads copy into it.
    private sealed class Probe : TorchSharp.torch.nn.Module
    {
#pragma warning disable IDE1006, SA1306 // state-dict key names
        private readonly TorchSharp.Modules.Parameter weight = new(zeros(2, 3));
        private readonly TorchSharp.Modules.Parameter bias = new(zeros(3));
#pragma warning restore IDE1006, SA1306

        public Probe()
            : base(nameof(Probe)) => RegisterComponents();
    }
}
