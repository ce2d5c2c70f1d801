using Diffusion.IO;
using Diffusion.Tests.Fuzz;
using static TorchSharp.torch;

namespace Diffusion.Tests.Faults;

/// <summary>
/// Hand-written malformed safetensors files, one per rule of the format: each is an
/// <see cref="InvalidDataException"/> naming the file and the problem, found before any tensor is allocated
/// (huge shapes cannot reach libtorch: a tensor's bytes must lie inside the file).
/// </summary>
public sealed class SafeTensorsMalformedTests
{
    private static readonly byte[] EightBytes = new byte[8];

    public static TheoryData<string, string, string> Headers => new()
    {
        // name, header JSON (data: 8 bytes), expected part of the message
        { "not-json", "{\"a\": ", "not valid JSON" },
        { "array", "[1, 2]", "must be a JSON object" },
        { "unknown-dtype", """{"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}""", "unknown dtype 'C64'" },
        { "shape-size-mismatch", """{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}""", "(12 bytes) but data_offsets span 8 bytes" },
        { "overlap", """{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}""", "overlaps" },
        { "hole", """{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}""", "leaving a hole" },
        { "past-the-end", """{"a": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}}""", "cover 16 bytes of data but the file holds 8" },
        { "reversed-offsets", """{"a": {"dtype": "U8", "shape": [0], "data_offsets": [8, 0]}}""", "0 <= begin <= end" },
        { "negative-dim", """{"a": {"dtype": "U8", "shape": [-8], "data_offsets": [0, 8]}}""", "not a non-negative integer" },
        { "fractional-dim", """{"a": {"dtype": "U8", "shape": [8.0], "data_offsets": [0, 8]}}""", "not a non-negative integer" },
        { "huge-dims-overflow", """{"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 4], "data_offsets": [0, 8]}}""", "overflows" },
        { "huge-dims-bytes-overflow", """{"a": {"dtype": "F64", "shape": [4611686018427387904], "data_offsets": [0, 8]}}""", "too large" },
        { "huge-dims-consistent", """{"a": {"dtype": "F32", "shape": [1099511627776], "data_offsets": [0, 4398046511104]}}""", "cover 4398046511104 bytes of data but the file holds 8" },
        { "rank-33", "{\"a\": {\"dtype\": \"U8\", \"shape\": [" + string.Join(',', Enumerable.Repeat(1, 33)) + "], \"data_offsets\": [0, 1]}}", "rank 33" },
        { "offsets-as-strings", """{"a": {"dtype": "U8", "shape": [8], "data_offsets": ["0", "8"]}}""", "data_offsets [begin, end]" },
        { "offsets-three", """{"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8, 8]}}""", "data_offsets [begin, end]" },
        { "offsets-beyond-int64", """{"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 18446744073709551616]}}""", "data_offsets [begin, end]" },
        { "missing-shape", """{"a": {"dtype": "U8", "data_offsets": [0, 8]}}""", "must have a string 'dtype'" },
        { "dtype-not-string", """{"a": {"dtype": 4, "shape": [8], "data_offsets": [0, 8]}}""", "must have a string 'dtype'" },
        { "metadata-not-strings", """{"__metadata__": {"a": 1}, "a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]}}""", "__metadata__['a'] must be a string" },
        { "duplicate-tensor", """{"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, "a": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}}""", "'a' appears twice" },
        { "duplicate-field", """{"a": {"dtype": "F64", "dtype": "U8", "shape": [8], "data_offsets": [0, 8]}}""", "'dtype' twice" },
        { "deep-nesting", """{"__metadata__": {"a": [[[[[[[[[[[[1]]]]]]]]]]]]}}""", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void MalformedHeadersAreRefusedWithThePathAndTheReason(string name, string header, string expected)
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string path = Path.Combine(temp.Path, name + ".safetensors");
        File.WriteAllBytes(path, SafeTensorsBytes.Build(header, EightBytes));
        AssertRefused(path, expected);
    }

    [Fact]
    public void HeaderLengthLargerThanTheFileOrTheLimitIsRefused()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string path = Path.Combine(temp.Path, "long.safetensors");
        byte[] header = "{}"u8.ToArray();
        foreach (ulong declared in new ulong[] { 3, 1000, (ulong)SafeTensors.MaxHeaderBytes + 1, long.MaxValue, ulong.MaxValue })
        {
            File.WriteAllBytes(path, SafeTensorsBytes.Build(header, [], declared));
            AssertRefused(path, $"header length {declared} is larger than the file allows");
        }

        File.WriteAllBytes(path, [1, 2, 3]);
        AssertRefused(path, "fewer than the 8-byte header length");
        File.WriteAllBytes(path, SafeTensorsBytes.Build([], []));
        AssertRefused(path, "not valid JSON");
    }

    [Fact]
    public void InvalidUtf8InTheHeaderIsRefused()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string path = Path.Combine(temp.Path, "utf8.safetensors");
        byte[] header = [.. "{\"a"u8, 0xC3, 0x28, .. "\": {\"dtype\": \"U8\", \"shape\": [8], \"data_offsets\": [0, 8]}}"u8];
        File.WriteAllBytes(path, SafeTensorsBytes.Build(header, EightBytes));
        AssertRefused(path, "not valid UTF-8");
    }

    [Fact]
    public void AHugeShapeIsRefusedBeforeAnyAllocation()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string path = Path.Combine(temp.Path, "huge.safetensors");

        // 2^40 float32 values (4 TiB) declared, 8 bytes present: allocating first would fail (or swap) natively.
        File.WriteAllBytes(path, SafeTensorsBytes.Build("""{"a": {"dtype": "F32", "shape": [1024, 1024, 1024, 1024], "data_offsets": [0, 4398046511104]}}""", EightBytes));
        long before = GC.GetAllocatedBytesForCurrentThread();
        AssertRefused(path, "the file holds 8");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void StrictModuleLoadsNameMissingAndUnexpectedKeys()
    {
        using TempDirectory temp = TestEnvironment.CreateTempDirectory();
        string path = Path.Combine(temp.Path, "other.safetensors");
        using var scope = NewDisposeScope();
        SafeTensors.Save(new Dictionary<string, Tensor> { ["weight"] = zeros(3, 3, 1, 1), ["extra"] = zeros(1) }, path);
        var conv = Diffusion.Tests.Support.Tiny.Conv();
        var e = Assert.Throws<InvalidDataException>(() => conv.LoadSafeTensors(path));
        Assert.StartsWith(path + ":", e.Message, StringComparison.Ordinal);
        Assert.Contains("Missing from the file (1): bias", e.Message, StringComparison.Ordinal);
        Assert.Contains("Unexpected in the file (1): extra", e.Message, StringComparison.Ordinal);

        SafeTensors.Save(new Dictionary<string, Tensor> { ["weight"] = zeros(3, 2, 1, 1), ["bias"] = zeros(3) }, path);
        var shape = Assert.Throws<InvalidDataException>(() => conv.LoadSafeTensors(path, strict: false));
        Assert.Contains("weight: file [3,2,1,1], module [3,3,1,1]", shape.Message, StringComparison.Ordinal);
    }

    private static void AssertRefused(string path, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.StartsWith(path + ":", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        var header = Assert.Throws<InvalidDataException>(() => SafeTensors.ReadHeader(path));
        Assert.Equal(e.Message, header.Message);
    }
}
