using System.Text.Json;
using Diffusion.IO;
using Diffusion.Models;
using static TorchSharp.torch;

namespace Diffusion.Tests.IO;

/// <summary>
/// <see cref="TorchPickle"/> against files written by PyTorch 1.13's own torch.save and against hand-made hostile
/// ones (tests/reference/pickle, made by tools/reference/torch_pickle.py; tensors.json says what each file holds).
/// </summary>
public sealed class TorchPickleTests
{
    private static readonly string Dir = Path.Combine(TestEnvironment.ReferenceDir, "pickle");

    private static JsonElement Expected(string file)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "tensors.json")));
        return document.RootElement.GetProperty(file).Clone();
    }

    [Fact]
    public void EveryDTypeViewAndOffsetEqualsWhatTorchSaveWrote()
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> tensors = TorchPickle.ReadStateDict(Path.Combine(Dir, "tensors.pt"));
        JsonElement expected = Expected("tensors.pt");
        Assert.Equal(expected.EnumerateObject().Select(p => p.Name), tensors.Keys); // the file's order
        foreach (JsonProperty entry in expected.EnumerateObject())
        {
            AssertEqual(entry.Name, entry.Value, tensors[entry.Name], checkLayout: true);
            Assert.False(tensors[entry.Name].requires_grad, entry.Name); // the nn.Parameter too
        }
    }

    [Fact]
    public void TensorsThatSharedAStorageInTheFileShareItAfterReading()
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> tensors = TorchPickle.ReadStateDict(Path.Combine(Dir, "tensors.pt"));
        float rowBefore = tensors["tied_row"][0].item<float>();
        tensors["tied_a"].add_(1f); // tied_b is the same tensor in the file, tied_row a view of its second row
        Assert.True(Same(tensors["tied_a"], tensors["tied_b"]));
        Assert.Equal(rowBefore + 1f, tensors["tied_row"][0].item<float>());
        Assert.Equal(rowBefore + 1f, tensors["tied_b"][1, 0].item<float>());
    }

    [Fact]
    public void DTypeConvertsFloatingTensorsOnly()
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> original = TorchPickle.ReadStateDict(Path.Combine(Dir, "tensors.pt"));
        Dictionary<string, Tensor> half = TorchPickle.ReadStateDict(Path.Combine(Dir, "tensors.pt"), ScalarType.Float16);
        foreach ((string name, Tensor t) in original)
        {
            ScalarType want = t.is_floating_point() ? ScalarType.Float16 : t.dtype;
            Assert.Equal(want, half[name].dtype);
            Assert.True(Same(t.to(want), half[name]), name); // the same rounding as Tensor.to
        }

        Assert.Throws<ArgumentException>(() => TorchPickle.ReadStateDict(Path.Combine(Dir, "tensors.pt"), ScalarType.Int32));
    }

    [Fact]
    public void ModuleStateDictWithMetadataLoadsIntoTheSameModule()
    {
        using var scope = NewDisposeScope();
        var module = nn.Sequential(("0", nn.Linear(3, 4)), ("1", nn.BatchNorm1d(4)));
        SafeTensorsLoadResult result = module.LoadTorchStateDict(Path.Combine(Dir, "module_state_dict.pt"));
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        Dictionary<string, Tensor> state = module.state_dict();
        foreach (JsonProperty entry in Expected("module_state_dict.pt").EnumerateObject())
        {
            AssertEqual(entry.Name, entry.Value, state[entry.Name], checkLayout: false);
        }
    }

    [Fact]
    public void KeyAndShapeMismatchesAreTheSameErrorsAsForSafeTensors()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(Dir, "module_state_dict.pt");
        var extra = nn.Sequential(("0", nn.Linear(3, 4)), ("2", nn.Linear(4, 4)));
        var e = Assert.Throws<InvalidDataException>(() => extra.LoadTorchStateDict(path));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("Missing from the file (2): 2.weight, 2.bias", e.Message, StringComparison.Ordinal);
        Assert.Contains("Unexpected in the file (5): 1.weight, 1.bias, 1.running_mean, 1.running_var, 1.num_batches_tracked", e.Message, StringComparison.Ordinal);

        SafeTensorsLoadResult loose = extra.LoadTorchStateDict(path, strict: false);
        Assert.Equal(["2.weight", "2.bias"], loose.MissingKeys);

        var wrongShape = nn.Sequential(("0", nn.Linear(3, 5)), ("1", nn.BatchNorm1d(4)));
        Assert.Contains("0.weight: file [4,3], module [5,3]",
            Assert.Throws<InvalidDataException>(() => wrongShape.LoadTorchStateDict(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACheckpointIsReadThroughToTheStateDictItNests()
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> tensors = TorchPickle.ReadStateDict(Path.Combine(Dir, "checkpoint.pt"));
        Assert.Equal(Expected("module_state_dict.pt").EnumerateObject().Select(p => p.Name), tensors.Keys);

        string other = Path.Combine(Dir, "not_a_state_dict.pt");
        var e = Assert.Throws<InvalidDataException>(() => TorchPickle.ReadStateDict(other));
        Assert.StartsWith(other, e.Message, StringComparison.Ordinal);
        Assert.Contains("not a state dict: the entry 'step' holds", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheBooksUNetLoadsFromItsPthAndGivesThePyTorchOutput()
    {
        // hidden dims [8, 16, 16], 8x8, torch.save(model.state_dict()) as the book's notebook saves diffusion.pth.
        // Tolerance as in UNetParityTests: the same float32 ops through other kernels differ by a few ulps per op,
        // about 1e-6 at the output; a wrong or missing weight moves it by 1e-2 or more.
        using var scope = NewDisposeScope();
        using var unet = new UNet(new UNetOptions { HiddenDims = [8, 16, 16], ImageSize = 8 });
        SafeTensorsLoadResult result = unet.LoadTorchStateDict(Path.Combine(Dir, "book_unet_tiny.pth"));
        Assert.Empty(result.MissingKeys);
        unet.eval();
        Dictionary<string, Tensor> io = TorchPickle.ReadStateDict(Path.Combine(Dir, "book_unet_tiny_io.pt"));
        using var _ = no_grad();
        Tensor actual = unet.call(io["sample"], io["timesteps"]);
        Assert.Equal(io["output"].shape, actual.shape);
        float maxError = (actual - io["output"]).abs().max().item<float>();
        Assert.True(maxError <= 1e-5f, $"max |ours - book| = {maxError:E2}");
    }

    [Fact]
    public void EntriesWithZip64SizeFieldsAreRead()
    {
        // torch.save writes zip64 fields for files over 4 GiB; zip64.pt has them on four small entries.
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> tensors = TorchPickle.ReadStateDict(Path.Combine(Dir, "zip64.pt"));
        Assert.Equal([1f, 2f, 3f, 4f], tensors["weight"].data<float>().ToArray());
    }

    [Fact]
    public void StoragesReadInSmallChunksEqualOneRead()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(Dir, "tensors.pt");
        Dictionary<string, Tensor> whole = TorchPickle.ReadStateDict(path);
        using TorchArchive archive = TorchArchive.Open(path, chunkBytes: 6); // 1 to 6 elements at a time
        archive.ReadTensors(archive.Tensors, (name, t) => Assert.True(Same(t, whole[name]), name));
    }

    [Fact]
    public void AFlippedBitInAStorageIsRefusedByTheZipChecksum()
    {
        // torch.save records each entry's CRC-32; System.IO.Compression does not check it, the reader does.
        using TempDirectory dir = TestEnvironment.CreateTempDirectory();
        string path = Path.Combine(dir.Path, "flipped.pt");
        byte[] bytes = File.ReadAllBytes(Path.Combine(Dir, "tensors.pt"));
        using (var zip = new System.IO.Compression.ZipArchive(new MemoryStream(bytes), System.IO.Compression.ZipArchiveMode.Read))
        {
            // The first storage's data starts after its local header: 30 bytes, the name and the extra field.
            System.IO.Compression.ZipArchiveEntry entry = zip.GetEntry("archive/data/0")!;
            int header = IndexOf(bytes, System.Text.Encoding.ASCII.GetBytes(entry.FullName)) - 30;
            int data = header + 30 + BitConverter.ToUInt16(bytes, header + 26) + BitConverter.ToUInt16(bytes, header + 28);
            bytes[data + 1] ^= 0x10;
        }

        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => TorchPickle.ReadStateDict(path));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("archive/data/0 is damaged: its bytes have CRC-32", e.Message, StringComparison.Ordinal);
        Assert.Equal(0xCBF43926u, ZipCrc32.Append(0, "123456789"u8)); // the CRC-32 check value
        Assert.Equal(0xCBF43926u, ZipCrc32.Append(ZipCrc32.Append(0, "12345"u8), "6789"u8));
    }

    [Fact]
    public void TheFoldedCrcEqualsTheTableCrcForEveryLengthAndSplit()
    {
        var random = new Random(5);
        byte[] data = new byte[1 << 20];
        random.NextBytes(data);
        for (int length = 0; length <= 300; length++)
        {
            int start = random.Next(0, 64);
            ReadOnlySpan<byte> span = data.AsSpan(start, length);
            uint expected = ZipCrc32.AppendWithTables(0, span);
            Assert.Equal(expected, ZipCrc32.Append(0, span));
            int split = random.Next(0, length + 1);
            Assert.Equal(expected, ZipCrc32.Append(ZipCrc32.Append(0, span[..split]), span[split..]));
        }

        Assert.Equal(ZipCrc32.AppendWithTables(0, data), ZipCrc32.Append(0, data));
        Assert.Equal(0xCBF43926u, ZipCrc32.AppendWithTables(0, "123456789"u8));
    }

    [Theory]
    [InlineData("hostile_os_system.pt", "refused the global 'posix.system'")]
    [InlineData("hostile_builtins_eval.pt", "refused the global '__builtin__.eval'")]
    [InlineData("hostile_unknown_global.pt", "refused the global 'numpy.core.multiarray._reconstruct'")]
    [InlineData("hostile_bad_opcode.pt", "opcode 0x69 ('i')")]
    [InlineData("hostile_truncated.pt", "damaged zip archive")]
    [InlineData("hostile_short_storage.pt", "reaches element 9 of storage '0', which holds 4")]
    [InlineData("hostile_short_entry.pt", "storage '0' declares 10 × Float32 but its entry archive/data/0 holds 16 bytes")]
    [InlineData("hostile_huge_size.pt", "storage '0' declares 1152921504606846976 × Float32")]
    [InlineData("legacy.pt", "legacy serialization format")]
    public void HostileAndUnsupportedFilesAreRefusedNamingTheFileAndTheProblem(string file, string expected)
    {
        string path = Path.Combine(Dir, file);
        var e = Assert.Throws<InvalidDataException>(() => TorchPickle.ReadStateDict(path));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);

        using var module = nn.Linear(4, 4);
        Assert.Contains(expected, Assert.Throws<InvalidDataException>(() => module.LoadTorchStateDict(path, strict: false)).Message, StringComparison.Ordinal);
    }

    private static void AssertEqual(string name, JsonElement expected, Tensor actual, bool checkLayout)
    {
        Assert.Equal(expected.GetProperty("dtype").GetString(), DTypeName(actual.dtype));
        Assert.Equal(expected.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), actual.shape);
        if (checkLayout && actual.numel() > 0)
        {
            Assert.Equal(expected.GetProperty("stride").EnumerateArray().Select(e => e.GetInt64()), actual.stride());
            Assert.Equal(expected.GetProperty("storage_offset").GetInt64(), actual.storage_offset());
        }

        JsonElement values = expected.GetProperty("values");
        Tensor flat = actual.contiguous().flatten();
        switch (actual.dtype)
        {
            case ScalarType.Bool:
                Assert.Equal(values.EnumerateArray().Select(v => v.GetBoolean()), flat.data<bool>().ToArray());
                break;
            case ScalarType.Int64:
                Assert.Equal(values.EnumerateArray().Select(v => v.GetInt64()), flat.data<long>().ToArray());
                break;
            default:
                // float16, bfloat16, float32 and every integer type up to int32 are exact in float64, as Python wrote them.
                Assert.Equal(values.EnumerateArray().Select(v => v.GetDouble()), flat.to(ScalarType.Float64).data<double>().ToArray());
                break;
        }

    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);

    private static bool Same(Tensor a, Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static string DTypeName(ScalarType type) => type switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Float64 => "float64",
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Int64 => "int64",
        ScalarType.Int32 => "int32",
        ScalarType.Int16 => "int16",
        ScalarType.Int8 => "int8",
        ScalarType.Byte => "uint8",
        ScalarType.Bool => "bool",
        _ => type.ToString(),
    };
}
