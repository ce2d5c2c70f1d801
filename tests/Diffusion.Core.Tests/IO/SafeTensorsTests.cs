using System.Buffers.Binary;
using System.Text;
using Diffusion.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.IO;

public sealed class SafeTensorsTests
{
    [Fact]
    public void RoundTripKeepsEveryDTypeShapeAndValue()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        manual_seed(3);
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(2, 3),
            ["f64"] = randn(4, dtype: float64),
            ["bf16"] = randn(3, 2).to(bfloat16),
            ["f16"] = randn(5).to(float16),
            ["i64"] = arange(6, dtype: int64).reshape(1, 2, 3),
            ["i32"] = tensor(new[] { -1, 2, int.MaxValue }),
            ["u8"] = tensor(new byte[] { 0, 128, 255 }),
            ["bool"] = tensor(new[] { true, false }),
            ["scalar"] = tensor(2.5f),
            ["empty"] = zeros(0, 4),
            ["strided"] = randn(4, 4).t(), // non-contiguous
        };
        string path = Path.Combine(dir.Path, "t.safetensors");
        SafeTensors.Save(tensors, path, new Dictionary<string, string> { ["format"] = "pt" });

        Dictionary<string, Tensor> loaded = SafeTensors.Load(path);
        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        foreach ((string name, Tensor expected) in tensors)
        {
            Tensor actual = loaded[name];
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(expected.eq(actual).all().item<bool>(), $"{name} differs after the round trip");
            actual.Dispose();
        }

        Assert.Equal("pt", SafeTensors.ReadHeader(path).Metadata["format"]);
    }

    [Fact]
    public void ReadsAFileLaidOutByHandAsTheFormatSpecifies()
    {
        // Header and data written byte by byte, as the reference implementation writes them.
        using var dir = TestEnvironment.CreateTempDirectory();
        string json = "{\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[8,16]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        byte[] data = [.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(-2f), .. BitConverter.GetBytes(7), .. BitConverter.GetBytes(-9)];
        string path = WriteRaw(dir.Path, json, data);

        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> loaded = SafeTensors.Load(path);
        Assert.Equal([1.5f, -2f], loaded["a"].data<float>().ToArray());
        Assert.Equal([7, -9], loaded["b"].data<int>().ToArray());
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlaps")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "cover 8 bytes of data but the file holds 4")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "hole")]
    [InlineData("{\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype 'Q7'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "(12 bytes) but data_offsets span 8")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],\"data_offsets\":[0,8]}}", 8, "overflows")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}", 8, "not a non-negative integer")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "data_offsets")]
    [InlineData("{\"a\":", 8, "not valid JSON")]
    [InlineData("[1,2]", 0, "must be a JSON object")]
    [InlineData("{\"__metadata__\":{\"k\":1}}", 0, "must be a string")]
    public void MalformedHeadersGiveInvalidDataExceptionNamingTheFile(string json, int dataBytes, string expected)
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string path = WriteRaw(dir.Path, json, new byte[dataBytes]);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HeaderLengthLargerThanTheFileIsRejectedBeforeAllocating()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        string path = Path.Combine(dir.Path, "huge.safetensors");
        byte[] bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue - 3);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.ReadHeader(path));
        Assert.Contains("header length", e.Message, StringComparison.Ordinal);

        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("fewer than the 8-byte", Assert.Throws<InvalidDataException>(() => SafeTensors.ReadHeader(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModuleRoundTripAndStrictKeyChecking()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        manual_seed(5);
        var source = nn.Sequential(("fc", nn.Linear(3, 4)), ("norm", nn.BatchNorm1d(4)));
        var target = nn.Sequential(("fc", nn.Linear(3, 4)), ("norm", nn.BatchNorm1d(4)));
        string path = Path.Combine(dir.Path, "m.safetensors");
        source.SaveSafeTensors(path);

        SafeTensorsLoadResult result = target.LoadSafeTensors(path);
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        foreach ((string name, Tensor value) in source.state_dict())
        {
            Assert.True(value.eq(target.state_dict()[name]).all().item<bool>(), name);
        }

        var other = nn.Sequential(("fc", nn.Linear(3, 4)), ("extra", nn.Linear(4, 4)));
        var e = Assert.Throws<InvalidDataException>(() => other.LoadSafeTensors(path));
        Assert.Contains("Missing from the file (2): extra.weight, extra.bias", e.Message, StringComparison.Ordinal);
        Assert.Contains("Unexpected in the file (", e.Message, StringComparison.Ordinal);

        SafeTensorsLoadResult loose = other.LoadSafeTensors(path, strict: false);
        Assert.Equal(["extra.weight", "extra.bias"], loose.MissingKeys);

        var wrongShape = nn.Sequential(("fc", nn.Linear(3, 5)), ("norm", nn.BatchNorm1d(4)));
        Assert.Contains("fc.weight: file [4,3], module [5,3]",
            Assert.Throws<InvalidDataException>(() => wrongShape.LoadSafeTensors(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheHeaderRecordsTheDataSha256AndADamagedByteIsRefusedBeforeAnyParameterChanges()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        manual_seed(6);
        var source = nn.Linear(8, 8);
        string path = Path.Combine(dir.Path, "w.safetensors");
        source.SaveSafeTensors(path, new Dictionary<string, string> { ["note"] = "kept" });

        // The recorded value is the SHA-256 of everything after the header, computed here independently.
        SafeTensorsHeader header = SafeTensors.ReadHeader(path);
        byte[] file = File.ReadAllBytes(path);
        string expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file.AsSpan((int)header.DataStart)));
        Assert.Equal(expected, header.Metadata[SafeTensors.ChecksumKey]);
        Assert.Equal("kept", header.Metadata["note"]);
        Assert.Equal("pt", header.Metadata["format"]); // transformers refuses metadata without it

        // One flipped bit in the last tensor's data: both readers refuse the file, naming it.
        file[^3] ^= 0x10;
        File.WriteAllBytes(path, file);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("damaged", e.Message, StringComparison.Ordinal);

        var target = nn.Linear(8, 8);
        Tensor before = target.weight!.detach().clone();
        Assert.Throws<InvalidDataException>(() => target.LoadSafeTensors(path));
        Assert.True(target.weight!.eq(before).all().item<bool>(), "the module changed although its file was refused");
    }

    [Fact]
    public void LoadingIntoBFloat16ModuleConvertsValues()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        var source = nn.Linear(2, 2);
        string path = Path.Combine(dir.Path, "m.safetensors");
        source.SaveSafeTensors(path);
        var target = nn.Linear(2, 2);
        target.to(ScalarType.BFloat16);
        target.LoadSafeTensors(path);
        Assert.Equal(ScalarType.BFloat16, target.weight!.dtype);
        Assert.True(source.weight!.to(bfloat16).eq(target.weight).all().item<bool>());
    }

    [Fact]
    public void AFailedSaveLeavesThePreviousFileIntact()
    {
        using var dir = TestEnvironment.CreateTempDirectory();
        using var scope = NewDisposeScope();
        string path = Path.Combine(dir.Path, "keep.safetensors");
        SafeTensors.Save(new Dictionary<string, Tensor> { ["x"] = ones(3) }, path);
        byte[] before = File.ReadAllBytes(path);

        // complex64 has no safetensors code: the save fails before touching the target.
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(new Dictionary<string, Tensor> { ["z"] = zeros(2, dtype: complex64) }, path));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    private static string WriteRaw(string dir, string json, byte[] data)
    {
        byte[] header = Encoding.UTF8.GetBytes(json);
        byte[] length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        string path = Path.Combine(dir, "raw.safetensors");
        File.WriteAllBytes(path, [.. length, .. header, .. data]);
        return path;
    }
}
