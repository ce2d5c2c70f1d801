using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Diffusion.IO;
using static TorchSharp.torch;

namespace Diffusion.Tests.Faults;

/// <summary>
/// Hand-made PyTorch files, one broken rule each: pickles built opcode by opcode (never run by anything but the reader
/// under test) inside zip archives laid out as torch.save lays them out. Each must be an <see cref="InvalidDataException"/>
/// that names the file and the rule, before any tensor is allocated; the "valid" case checks the builders themselves.
/// </summary>
public sealed class TorchPickleMalformedTests
{
    private const int MaxValues = 1 << 22; // TorchUnpickler.MaxValues

    private static readonly byte[] Floats = [.. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(2f), .. BitConverter.GetBytes(3f), .. BitConverter.GetBytes(4f)];

    [Theory]
    [InlineData("memo-unset", "memo entry 5 is read before it is written")]
    [InlineData("long1-9", "an integer of 9 bytes is wider than 64 bits")]
    [InlineData("string-past-end", "a value of 4294967295 bytes runs past the end of the pickle")]
    [InlineData("stack-bomb", "more than 4194304 values on the stack")]
    [InlineData("deep-nesting", "the pickle holds a tuple, not a state dict")]
    [InlineData("negative-stride", "expected non-negative integers")]
    [InlineData("negative-offset", "and offset -1 reaches element")]
    [InlineData("rank-mismatch", "has 2 sizes and 1 strides")]
    [InlineData("rank-65", "has 65 sizes and 65 strides (at most 64)")]
    [InlineData("size-overflow", "which overflow")]
    [InlineData("empty-tensor-past-storage", "and offset 10 reaches element 10 of storage '0', which holds 4")]
    [InlineData("storage-twice", "storage '0' is declared twice, as 4 × Float32 and as 4 × Float16")]
    [InlineData("storage-key-path", "a storage key must be 1 to 64 ASCII letters or digits; got '../0'")]
    [InlineData("call-storage", "torch.FloatStorage cannot be called with ()")]
    [InlineData("build-on-tensor", "BUILD of a tensor with a dict is not part of a state dict")]
    [InlineData("tensor-metadata", "torch._utils._rebuild_tensor_v2 needs (storage, offset, size, stride, requires_grad, hooks)")]
    [InlineData("stack-global", "refused the global 'posix.system'")]
    [InlineData("torchscript", "refused the global '__torch__.Model.Model'")]
    [InlineData("ext1", "opcode 0x82 is not one torch.save uses")]
    [InlineData("top-level-list", "the pickle holds a list, not a state dict")]
    [InlineData("non-tensor-value", "not a state dict: the entry 'weight' holds None")]
    [InlineData("two-archives", "the zip archive has more than one <folder>/data.pkl")]
    [InlineData("no-data-pkl", "the zip archive has no <folder>/data.pkl")]
    [InlineData("big-endian", "saved on a big-endian machine")]
    [InlineData("compressed-pickle", "archive/data.pkl is compressed")]
    [InlineData("not-zip", "not a PyTorch file")]
    [InlineData("valid", null)]
    [InlineData("valid-cuda-location", null)]
    [InlineData("valid-protocol-4", null)]
    public void EachBrokenRuleIsAnInvalidDataExceptionNamingTheFileAndTheRule(string name, string? expected)
    {
        using TempDirectory dir = TestEnvironment.CreateTempDirectory();
        string path = Path.Combine(dir.Path, name + ".pt");
        File.WriteAllBytes(path, Build(name));
        if (expected is null)
        {
            using var scope = NewDisposeScope();
            Dictionary<string, Tensor> read = TorchPickle.ReadStateDict(path);
            Assert.Equal([1f, 2f, 3f, 4f], read["weight"].data<float>().ToArray());
            return;
        }

        var e = Assert.Throws<InvalidDataException>(() => TorchPickle.ReadStateDict(path));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    private static byte[] Build(string name) => name switch
    {
        "memo-unset" => Archive([0x80, 2, (byte)'h', 5, (byte)'.']),
        "long1-9" => Archive([0x80, 2, 0x8a, 9, .. new byte[9], (byte)'.']),
        "string-past-end" => Archive([0x80, 2, (byte)'X', 0xff, 0xff, 0xff, 0xff, (byte)'.']),
        "stack-bomb" => Archive([0x80, 2, .. Enumerable.Repeat((byte)')', MaxValues + 1), (byte)'.']),
        "deep-nesting" => Archive([0x80, 2, .. Enumerable.Repeat((byte)'(', 100_000), .. Enumerable.Repeat((byte)'t', 100_000), (byte)'.']),
        "negative-stride" => Archive(StateDict(("weight", Tensor("0", "FloatStorage", 4, 0, [4], [-1]))), ("0", Floats)),
        "negative-offset" => Archive(StateDict(("weight", Tensor("0", "FloatStorage", 4, -1, [4], [1]))), ("0", Floats)),
        "rank-mismatch" => Archive(StateDict(("weight", Tensor("0", "FloatStorage", 4, 0, [2, 2], [1]))), ("0", Floats)),
        "rank-65" => Archive(StateDict(("weight", Tensor("0", "FloatStorage", 4, 0, [.. Enumerable.Repeat(1L, 65)], [.. Enumerable.Repeat(1L, 65)]))), ("0", Floats)),
        "size-overflow" => Archive(StateDict(("weight", Tensor("0", "FloatStorage", 4, 0, [1L << 40, 1L << 40], [1, 1]))), ("0", Floats)),
        "empty-tensor-past-storage" => Archive(StateDict(("weight", Tensor("0", "FloatStorage", 4, 10, [0], [1]))), ("0", Floats)),
        "storage-twice" => Archive(
            StateDict(("weight", Tensor("0", "FloatStorage", 4, 0, [4], [1])), ("bias", Tensor("0", "HalfStorage", 4, 0, [4], [1]))), ("0", Floats)),
        "storage-key-path" => Archive(StateDict(("weight", Tensor("../0", "FloatStorage", 4, 0, [4], [1]))), ("0", Floats)),
        "call-storage" => Archive(StateDict(("weight", [.. Global("torch", "FloatStorage"), (byte)')', (byte)'R']))),
        "build-on-tensor" => Archive(StateDict(("weight", [.. Tensor("0", "FloatStorage", 4, 0, [4], [1]), (byte)'}', (byte)'b'])), ("0", Floats)),
        "tensor-metadata" => Archive(StateDict(("weight", TensorWithMetadata())), ("0", Floats)),
        "stack-global" => Archive([0x80, 4, .. Unicode("posix"), .. Unicode("system"), 0x93, .. Unicode("echo"), 0x85, (byte)'R', (byte)'.']),
        "torchscript" => Archive([0x80, 2, .. Global("__torch__.Model", "Model"), (byte)')', (byte)'R', (byte)'.']),
        "ext1" => Archive([0x80, 2, 0x82, 1, (byte)'.']),
        "top-level-list" => Archive([0x80, 2, (byte)']', (byte)'.']),
        "non-tensor-value" => Archive(StateDict(("weight", [(byte)'N']))),
        "two-archives" => Zip([("a/data.pkl", StateDict()), ("b/data.pkl", StateDict())]),
        "no-data-pkl" => Zip([("archive/version", "3\n"u8.ToArray())]),
        "big-endian" => Zip([("archive/data.pkl", StateDict()), ("archive/byteorder", "big"u8.ToArray())]),
        "compressed-pickle" => Zip([("archive/data.pkl", StateDict(("weight", Tensor("0", "FloatStorage", 4, 0, [4], [1]))))], compress: true),
        "not-zip" => "# a Python script, not a checkpoint\n"u8.ToArray(),
        "valid" => Archive(StateDict(("weight", Tensor("0", "FloatStorage", 4, 0, [4], [1]))), ("0", Floats)),
        "valid-cuda-location" => Archive(StateDict(("weight", Tensor("0", "FloatStorage", 4, 0, [4], [1], location: "cuda:0"))), ("0", Floats)), // the book's diffusion.pth
        "valid-protocol-4" => Archive(Protocol4(("weight", Tensor("0", "FloatStorage", 4, 0, [4], [1]))), ("0", Floats)),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such case"),
    };

    // --- pickle opcodes (protocol 2), as torch.save emits them ----------------------------------------------------

    private static byte[] Unicode(string s)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(s);
        byte[] length = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
        return [(byte)'X', .. length, .. utf8];
    }

    private static byte[] Global(string module, string name) => Encoding.ASCII.GetBytes($"c{module}\n{name}\n");

    private static byte[] Int(long value)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return [0x8a, 8, .. bytes]; // LONG1: 8 bytes, two's complement
    }

    private static byte[] Tuple(params byte[][] items) => [(byte)'(', .. items.SelectMany(i => i), (byte)'t'];

    private static byte[] Tensor(string key, string storageClass, long numel, long offset, long[] size, long[] stride, string location = "cpu")
    {
        byte[] persistentId = Tuple(Unicode("storage"), Global("torch", storageClass), Unicode(key), Unicode(location), Int(numel));
        byte[] hooks = [.. Global("collections", "OrderedDict"), (byte)')', (byte)'R'];
        byte[] args = Tuple([.. persistentId, (byte)'Q'], Int(offset), Tuple([.. size.Select(Int)]), Tuple([.. stride.Select(Int)]), [0x89], hooks);
        return [.. Global("torch._utils", "_rebuild_tensor_v2"), .. args, (byte)'R'];
    }

    // torch 2.x's seventh argument, here a non-empty dict (extra tensor state a plain state dict never has).
    private static byte[] TensorWithMetadata()
    {
        byte[] persistentId = Tuple(Unicode("storage"), Global("torch", "FloatStorage"), Unicode("0"), Unicode("cpu"), Int(4));
        byte[] hooks = [.. Global("collections", "OrderedDict"), (byte)')', (byte)'R'];
        byte[] metadata = [(byte)'}', .. Unicode("conj"), 0x88, (byte)'s'];
        byte[] args = Tuple([.. persistentId, (byte)'Q'], Int(0), Tuple(Int(4)), Tuple(Int(1)), [0x89], hooks, metadata);
        return [.. Global("torch._utils", "_rebuild_tensor_v2"), .. args, (byte)'R'];
    }

    private static byte[] StateDict(params (string Key, byte[] Value)[] items) =>
        [0x80, 2, .. Global("collections", "OrderedDict"), (byte)')', (byte)'R', (byte)'(', .. items.SelectMany(i => (byte[])[.. Unicode(i.Key), .. i.Value]), (byte)'u', (byte)'.'];

    // Protocol 4's spelling of the same dict: a FRAME, SHORT_BINUNICODE names, STACK_GLOBAL and MEMOIZE.
    private static byte[] Protocol4(params (string Key, byte[] Value)[] items)
    {
        static byte[] Short(string s) => [0x8c, (byte)s.Length, .. Encoding.ASCII.GetBytes(s)];
        byte[] body = [.. Short("collections"), .. Short("OrderedDict"), 0x93, 0x94, (byte)')', (byte)'R', (byte)'(',
            .. items.SelectMany(i => (byte[])[.. Short(i.Key), .. i.Value]), (byte)'u', (byte)'.'];
        byte[] length = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, body.Length);
        return [0x80, 4, 0x95, .. length, .. body];
    }

    // --- the archive --------------------------------------------------------------------------------------------

    private static byte[] Archive(byte[] pickle, params (string Key, byte[] Data)[] storages) =>
        Zip([("archive/data.pkl", pickle), .. storages.Select(s => ("archive/data/" + s.Key, s.Data)), ("archive/version", "3\n"u8.ToArray()), ("archive/byteorder", "little"u8.ToArray())]);

    private static byte[] Zip(IEnumerable<(string Name, byte[] Data)> entries, bool compress = false)
    {
        var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach ((string name, byte[] data) in entries)
            {
                ZipArchiveEntry entry = zip.CreateEntry(name, compress ? CompressionLevel.SmallestSize : CompressionLevel.NoCompression);
                using Stream stream = entry.Open();
                stream.Write(data);
            }
        }

        return buffer.ToArray();
    }
}
