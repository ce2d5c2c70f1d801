using System.IO.Compression;
using System.Text;
using Diffusion.IO;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Diffusion.Tests.Fuzz;

/// <summary>
/// Seeded fuzzing of the PyTorch state-dict reader on files torch.save wrote (tests/reference/pickle): damaged zip
/// bytes, damaged pickles and storages inside an intact zip, swapped-in dangerous globals. Besides the usual rule (read,
/// or refused with an <see cref="InvalidDataException"/> naming the file; bounded allocation; no hang, no crash), the
/// family asserts what must happen: a dangerous global is refused by name, a storage whose size disagrees with its
/// tensors is refused, a compressed entry is refused, and an intact re-zipped file (or one with flipped data bits) reads.
/// </summary>
public sealed class TorchPickleFuzzTests(ITestOutputHelper output)
{
    private static readonly string[] Originals = ["tensors.pt", "module_state_dict.pt", "checkpoint.pt", "book_unet_tiny_io.pt"];

    private static readonly string[] Dangerous =
        ["posix\nsystem", "os\nsystem", "builtins\neval", "__builtin__\ngetattr", "subprocess\nPopen", "numpy.core.multiarray\n_reconstruct", "torch\nload"];

    [Fact]
    public void DamagedFilesAreReadOrRefusedAndDangerousOnesAlwaysRefused()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        var originals = Originals.Select(f => (File: f, Bytes: File.ReadAllBytes(Path.Combine(TestEnvironment.ReferenceDir, "pickle", f)))).ToArray();
        using var probe = nn.Sequential(("0", nn.Linear(3, 4)), ("1", nn.BatchNorm1d(4))); // module_state_dict.pt's keys
        var runner = new FuzzRunner("torch.save files", seed: 16, output)
        {
            MustRefuseWith = kind => kind switch
            {
                _ when kind.StartsWith("global:", StringComparison.Ordinal) => $"refused the global '{kind["global:".Length..]}'",
                "storage-short" or "storage-long" => "declares",
                "compressed" => "is compressed",
                _ => FuzzRunner.AlwaysBroken(kind, lengthChecked: true), // a cut zip loses its directory, a cut pickle its STOP
            },
            MustRead = kind => kind is "rezip" or "storage-bits",
        };
        runner.Run(
            1500,
            temp.Path,
            random =>
            {
                (string name, byte[] original) = originals[random.Next(originals.Length)];
                List<(string Name, byte[] Data)> entries = Entries(original);
                int pickle = entries.FindIndex(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal));
                int choice = random.Next(12);
                if (choice < 3)
                {
                    (byte[] bytes, string kind) = ByteMutator.Mutate(original, random, head: original.Length);
                    return ([("f.pt", bytes)], "zip-" + kind);
                }

                if (choice < 7)
                {
                    (byte[] bytes, string kind) = ByteMutator.Mutate(entries[pickle].Data, random, head: entries[pickle].Data.Length);
                    entries[pickle] = (entries[pickle].Name, bytes);
                    return ([("f.pt", Zip(entries))], "pickle-" + kind);
                }

                if (choice == 7)
                {
                    // A global the reader allows, replaced by one that runs code when torch.load meets it.
                    string text = Encoding.Latin1.GetString(entries[pickle].Data);
                    string allowed = random.Next(2) == 0 ? "collections\nOrderedDict" : "torch._utils\n_rebuild_tensor_v2";
                    string dangerous = Dangerous[random.Next(Dangerous.Length)];
                    int at = text.IndexOf(allowed, StringComparison.Ordinal);
                    entries[pickle] = (entries[pickle].Name, Encoding.Latin1.GetBytes(text[..at] + dangerous + text[(at + allowed.Length)..]));
                    return ([("f.pt", Zip(entries))], "global:" + dangerous.Replace('\n', '.'));
                }

                // Storages: checkpoint.pt also holds the optimizer's, which the state dict does not use.
                int[] storages = [.. Enumerable.Range(0, entries.Count).Where(i => entries[i].Name.Contains("/data/", StringComparison.Ordinal) && name != "checkpoint.pt")];
                if (choice == 8 && storages.Length > 0)
                {
                    int s = storages[random.Next(storages.Length)];
                    byte[] data = entries[s].Data;
                    bool shorter = data.Length > 0 && random.Next(2) == 0;
                    byte[] extra = new byte[random.Next(1, 9)];
                    entries[s] = (entries[s].Name, shorter ? data[..random.Next(data.Length)] : [.. data, .. extra]);
                    return ([("f.pt", Zip(entries))], shorter ? "storage-short" : "storage-long");
                }

                if (choice == 9 && storages.Length > 0)
                {
                    int s = storages[random.Next(storages.Length)];
                    byte[] data = (byte[])entries[s].Data.Clone();
                    if (data.Length > 0)
                    {
                        data[random.Next(data.Length)] ^= (byte)(1 << random.Next(8));
                    }

                    entries[s] = (entries[s].Name, data);
                    return ([("f.pt", Zip(entries))], "storage-bits"); // wrong values, but a well-formed file
                }

                if (choice == 10)
                {
                    return ([("f.pt", Zip(entries, compressed: entries[pickle].Name))], "compressed");
                }

                return ([("f.pt", Zip(entries))], "rezip");
            },
            paths =>
            {
                foreach (Tensor t in TorchPickle.ReadStateDict(paths[0]).Values)
                {
                    t.Dispose();
                }

                probe.LoadTorchStateDict(paths[0], strict: false);
            });
    }

    private static List<(string Name, byte[] Data)> Entries(byte[] file)
    {
        using var zip = new ZipArchive(new MemoryStream(file), ZipArchiveMode.Read);
        var entries = new List<(string, byte[])>();
        foreach (ZipArchiveEntry entry in zip.Entries)
        {
            using Stream stream = entry.Open();
            var data = new MemoryStream();
            stream.CopyTo(data);
            entries.Add((entry.FullName, data.ToArray()));
        }

        return entries;
    }

    // Stored entries, as torch.save writes them (one may be deflated instead).
    private static byte[] Zip(List<(string Name, byte[] Data)> entries, string? compressed = null)
    {
        var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach ((string name, byte[] data) in entries)
            {
                ZipArchiveEntry entry = zip.CreateEntry(name, name == compressed ? CompressionLevel.SmallestSize : CompressionLevel.NoCompression);
                using Stream stream = entry.Open();
                stream.Write(data);
            }
        }

        return buffer.ToArray();
    }
}
