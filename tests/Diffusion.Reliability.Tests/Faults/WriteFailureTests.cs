using System.Collections;
using Diffusion.IO;
using Diffusion.Tests.Support;
using Diffusion.Training;
using static TorchSharp.torch;

namespace Diffusion.Tests.Faults;

/// <summary>
/// Saving when the disk says no: the writer failing mid-file (as on a full disk), the rename blocked, the
/// folder impossible to create, a read-only folder. Each is a clear exception naming the file or folder;
/// the previous file stays byte-for-byte, and no temporary file is left behind.
/// </summary>
/// <remarks>
/// A real full disk was checked by hand on a 12 MB tmpfs (not a test: mounting needs root): the third
/// checkpoint failed with "No space left on device", the two before it intact and no temporary file left.
/// </remarks>
public sealed class WriteFailureTests
{
    [Fact]
    public void AWriterFailingMidFileLeavesThePreviousFileAndNoTemporaryFile()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        string path = Path.Combine(temp.Path, "weights.safetensors");
        SafeTensors.Save(new Dictionary<string, Tensor> { ["a"] = ones(1000), ["b"] = zeros(1000) }, path);
        byte[] before = File.ReadAllBytes(path);

        var e = Assert.Throws<IOException>(() => SafeTensors.Save(new FailingAfterFirstTensor(new() { ["a"] = full(1000, 2f), ["b"] = full(1000, 3f) }), path));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("No space left on device (simulated)", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], AllFiles(temp.Path));
    }

    [Fact]
    public void ABlockedRenameLeavesNoTemporaryFile()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        string path = Path.Combine(temp.Path, "weights.safetensors");
        Directory.CreateDirectory(Path.Combine(path, "in-the-way"));

        var e = Assert.Throws<IOException>(() => SafeTensors.Save(new Dictionary<string, Tensor> { ["a"] = ones(10) }, path));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Empty(AllFiles(temp.Path));
    }

    [Fact]
    public void ACheckpointFolderThatCannotExistFailsBeforeTheFirstStep()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        string file = Path.Combine(temp.Path, "a-file");
        File.WriteAllText(file, "not a folder");
        string checkpoints = Path.Combine(file, "checkpoints"); // ENOTDIR
        int steps = 0;
        var progress = new SynchronousProgress<TrainingProgress>(_ => steps++);

        var e = Assert.Throws<IOException>(() => new Trainer(Tiny.UNet(), Tiny.Scheduler(), Tiny.Options(checkpoints) with { MaxSteps = 3 }).Fit(Tiny.Flowers(), progress));

        Assert.Contains(checkpoints, e.Message, StringComparison.Ordinal);
        Assert.Equal(0, steps);
    }

    [Fact]
    public void ACheckpointThatCannotBeWrittenStopsTrainingAndKeepsTheEarlierOnes()
    {
        using TempDirectory dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var earlier = new Dictionary<string, byte[]>();
        var progress = new SynchronousProgress<TrainingProgress>(p =>
        {
            if (p.Step == 3)
            {
                foreach (string file in Directory.GetFiles(dir.Path))
                {
                    earlier[file] = File.ReadAllBytes(file);
                }

                Directory.CreateDirectory(Path.Combine(dir.Path, "checkpoint-00000003.safetensors", "in-the-way"));
            }
        });

        var e = Assert.Throws<IOException>(() => new Trainer(Tiny.UNet(), Tiny.Scheduler(), Tiny.Options(dir.Path) with { MaxSteps = 6 }).Fit(Tiny.Flowers(), progress));

        Assert.Contains("checkpoint-00000003.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, earlier.Count);
        foreach ((string file, byte[] bytes) in earlier)
        {
            Assert.Equal(bytes, File.ReadAllBytes(file));
        }

        Assert.Equal(earlier.Keys.Order(StringComparer.Ordinal), AllFiles(dir.Path));
        Assert.Equal(Path.Combine(dir.Path, "checkpoint-00000002.safetensors"), TrainingCheckpoint.FindLatest(dir.Path));
    }

    [SkippableFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void AReadOnlyFolderIsRefusedAndKeepsThePreviousFile()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes");
        Skip.If(Environment.IsPrivilegedProcess, "root writes into read-only folders; this runs for ordinary users");
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        string path = Path.Combine(temp.Path, "weights.safetensors");
        SafeTensors.Save(new Dictionary<string, Tensor> { ["a"] = ones(10) }, path);
        byte[] before = File.ReadAllBytes(path);
        File.SetUnixFileMode(temp.Path, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var e = Assert.Throws<UnauthorizedAccessException>(() => SafeTensors.Save(new Dictionary<string, Tensor> { ["a"] = zeros(10) }, path));
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
            Assert.Equal(before, File.ReadAllBytes(path));
            Assert.Equal([path], AllFiles(temp.Path));
        }
        finally
        {
            File.SetUnixFileMode(temp.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static string[] AllFiles(string directory) =>
        [.. Directory.EnumerateFiles(directory, "*", new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = true }).Order(StringComparer.Ordinal)];

    // Enumerates normally while the header is built, then fails after the first tensor's bytes, as a full disk would.
    private sealed class FailingAfterFirstTensor(Dictionary<string, Tensor> inner) : IReadOnlyDictionary<string, Tensor>
    {
        public int Count => inner.Count;

        public IEnumerable<string> Keys => inner.Keys;

        public IEnumerable<Tensor> Values
        {
            get
            {
                yield return inner.Values.First();
                throw new IOException("No space left on device (simulated)");
            }
        }

        public Tensor this[string key] => inner[key];

        public bool ContainsKey(string key) => inner.ContainsKey(key);

        public bool TryGetValue(string key, out Tensor value) => inner.TryGetValue(key, out value!);

        public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => inner.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
