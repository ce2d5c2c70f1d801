using System.IO.Compression;
using System.Text;

namespace Diffusion.IO;

/// <summary>
/// A file written by <c>torch.save</c> since PyTorch 1.6: a zip archive with one top-level folder holding
/// <c>data.pkl</c> (the pickled object), <c>data/&lt;key&gt;</c> (each storage's raw bytes, stored uncompressed),
/// <c>byteorder</c> and <c>version</c>. <see cref="Open"/> checks everything that does not need tensor data (the
/// pickle, each tensor's view against its storage, each storage's entry size) before any tensor is allocated;
/// <see cref="ReadTensors"/> then streams each storage from its entry straight into tensor memory.
/// </summary>
internal sealed class TorchArchive : IDisposable
{
    /// <summary>Largest <c>data.pkl</c> accepted: a state dict's pickle is about 300 bytes per tensor.</summary>
    public const int MaxPickleBytes = 64 << 20;

    private const int DefaultChunkBytes = 16 << 20;

    private readonly FileStream stream;
    private readonly ZipArchive zip;
    private readonly string path;
    private readonly string prefix;
    private readonly int chunkBytes;
    private readonly Dictionary<TorchStorageRef, ZipArchiveEntry> entries = [];

    private TorchArchive(FileStream stream, ZipArchive zip, string path, string prefix, int chunkBytes)
    {
        this.stream = stream;
        this.zip = zip;
        this.path = path;
        this.prefix = prefix;
        this.chunkBytes = chunkBytes;
    }

    /// <summary>The state dict's tensors in the pickle's order.</summary>
    public IReadOnlyList<(string Name, TorchTensorRecord Record)> Tensors { get; private set; } = [];

    /// <summary>Opens and validates an archive; <paramref name="chunkBytes"/> is the most read into a tensor at once (tests make it small).</summary>
    public static TorchArchive Open(string path, int chunkBytes = DefaultChunkBytes)
    {
        FileStream stream = File.OpenRead(path);
        try
        {
            CheckSignature(stream, path);
            ZipArchive zip = Zip(path, () => new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true));
            try
            {
                var archive = new TorchArchive(stream, zip, path, FindPrefix(zip, path), chunkBytes);
                archive.Validate();
                return archive;
            }
            catch
            {
                zip.Dispose();
                throw;
            }
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads each storage once and hands <paramref name="take"/> every tensor of <paramref name="tensors"/> as a view of
    /// it: tensors that share a storage in the file share it here. <paramref name="take"/> owns the view it is given.
    /// </summary>
    public void ReadTensors(IEnumerable<(string Name, TorchTensorRecord Record)> tensors, Action<string, Tensor> take)
    {
        foreach (IGrouping<TorchStorageRef, (string Name, TorchTensorRecord Record)> group in tensors.GroupBy(t => t.Record.Storage))
        {
            using Tensor storage = ReadStorage(group.Key);
            foreach ((string name, TorchTensorRecord record) in group)
            {
                take(name, record.Numel == 0
                    ? empty(record.Shape, record.Storage.DType)
                    : storage.as_strided(record.Shape, record.Stride, record.Offset));
            }
        }
    }

    public void Dispose()
    {
        zip.Dispose();
        stream.Dispose();
    }

    private static void CheckSignature(FileStream stream, string path)
    {
        Span<byte> head = stackalloc byte[4];
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = 0;
        if (read == 4 && head[0] == (byte)'P' && head[1] == (byte)'K')
        {
            return;
        }

        // The format before PyTorch 1.6 starts with a pickle (PROTO 2, then a magic number) and interleaves raw
        // storages with more pickles; reading it means trusting offsets inside the pickle stream.
        throw new InvalidDataException(read > 0 && head[0] == 0x80
            ? $"{path}: this is PyTorch's legacy serialization format (torch.save before 1.6, or _use_new_zipfile_serialization=False), " +
              "which is not read here. Re-save it with PyTorch 1.13 or later: torch.save(torch.load(old, weights_only=True), new) " +
              "(weights_only keeps torch.load from running code in the file)."
            : $"{path}: not a PyTorch file: torch.save writes a zip archive (starting 'PK'); this file starts with {Convert.ToHexString(head[..read])}.");
    }

    // torch.save puts every record in one folder named after the file ("archive" when saved to a buffer).
    private static string FindPrefix(ZipArchive zip, string path)
    {
        string[] pickles = Zip(path, () => zip.Entries
            .Select(e => e.FullName)
            .Where(n => n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/') == n.Length - "/data.pkl".Length)
            .Take(2)
            .ToArray());
        return pickles.Length switch
        {
            1 => pickles[0][..^"data.pkl".Length],
            0 => throw new InvalidDataException($"{path}: the zip archive has no <folder>/data.pkl, so torch.save did not write it."),
            _ => throw new InvalidDataException($"{path}: the zip archive has more than one <folder>/data.pkl ({pickles[0]}, {pickles[1]})."),
        };
    }

    private void Validate()
    {
        string? byteOrder = ReadSmallText("byteorder");
        if (byteOrder is not (null or "little"))
        {
            throw new InvalidDataException(byteOrder == "big"
                ? $"{path}: the tensors were saved on a big-endian machine (byteorder 'big'), which is not supported; re-save them on a little-endian one."
                : $"{path}: {prefix}byteorder must be 'little' or 'big'; got '{byteOrder}'.");
        }

        string? version = ReadSmallText("version");
        if (version is not null && !int.TryParse(version.Trim(), System.Globalization.CultureInfo.InvariantCulture, out _))
        {
            throw new InvalidDataException($"{path}: {prefix}version must be an integer; got '{version}'.");
        }

        ZipArchiveEntry pickleEntry = Entry("data.pkl");
        CheckStored(pickleEntry);
        if (pickleEntry.Length > MaxPickleBytes)
        {
            throw new InvalidDataException($"{path}: {pickleEntry.FullName} is {pickleEntry.Length} bytes, more than the {MaxPickleBytes} a state dict's pickle needs.");
        }

        byte[] pickle = new byte[pickleEntry.Length];
        ReadEntry(pickleEntry, pickle);
        Tensors = StateDictOf(TorchUnpickler.Load(pickle, path));
        foreach (TorchStorageRef storage in Tensors.Select(t => t.Record.Storage).Distinct())
        {
            ZipArchiveEntry entry = Entry("data/" + storage.Key);
            CheckStored(entry);
            // Numel is compared first, so the product cannot overflow (entry lengths are file sizes).
            if (storage.Numel > entry.Length || storage.Numel * SafeTensorsDType.ElementSize(storage.DType) != entry.Length)
            {
                throw new InvalidDataException(
                    $"{path}: storage '{storage.Key}' declares {storage.Numel} × {storage.DType} but its entry {entry.FullName} holds {entry.Length} bytes.");
            }

            entries.Add(storage, entry);
        }
    }

    // The pickled object must be a dict of tensors; a checkpoint that nests one under "state_dict" or "model" is read
    // through (the other entries, e.g. an optimizer state or an epoch, are ignored).
    private List<(string, TorchTensorRecord)> StateDictOf(object? root)
    {
        if (root is not PickleDict top)
        {
            throw new InvalidDataException($"{path}: the pickle holds {Describe(root)}, not a state dict (a dict of tensors).");
        }

        if (!IsStateDict(top, out string? problem))
        {
            foreach (string nested in (string[])["state_dict", "model"])
            {
                if (top.Get(nested) is PickleDict inner && IsStateDict(inner, out _))
                {
                    top = inner;
                    problem = null;
                    break;
                }
            }

            if (problem is not null)
            {
                throw new InvalidDataException(
                    $"{path}: not a state dict: {problem}; expected a dict of tensors, or a checkpoint holding one under 'state_dict' or 'model'.");
            }
        }

        return [.. top.Items.Select(kv => ((string)kv.Key, (TorchTensorRecord)kv.Value!))];
    }

    private static bool IsStateDict(PickleDict dict, out string? problem)
    {
        foreach ((object key, object? value) in dict.Items)
        {
            if (key is not string || value is not TorchTensorRecord)
            {
                problem = $"the entry {(key is string s ? $"'{s}'" : key.ToString())} holds {Describe(value)}";
                return false;
            }
        }

        problem = null;
        return true;
    }

    private static string Describe(object? value) => value switch
    {
        null => "None",
        TorchTensorRecord => "a tensor",
        PickleDict => "a dict",
        List<object?> => "a list",
        object?[] => "a tuple",
        _ => $"a {value.GetType().Name}",
    };

    private Tensor ReadStorage(TorchStorageRef storage)
    {
        ZipArchiveEntry entry = entries[storage];
        Tensor tensor = empty(storage.Numel, storage.DType);
        try
        {
            int elementSize = SafeTensorsDType.ElementSize(storage.DType);
            long perChunk = Math.Max(1, chunkBytes / elementSize);
            uint crc = Zip(path, () =>
            {
                using Stream source = entry.Open();
                uint crc = 0;
                for (long start = 0; start < storage.Numel; start += perChunk)
                {
                    using Tensor part = tensor.narrow(0, start, Math.Min(perChunk, storage.Numel - start));
                    Span<byte> bytes = part.bytes; // part is contiguous: its bytes are the storage's, from start on
                    source.ReadExactly(bytes);
                    crc = ZipCrc32.Append(crc, bytes);
                }

                return crc;
            });
            CheckCrc(entry, crc);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    private ZipArchiveEntry Entry(string name) =>
        Zip(path, () => zip.GetEntry(prefix + name)) ?? throw new InvalidDataException($"{path}: the archive has no {prefix}{name}.");

    private string? ReadSmallText(string name)
    {
        ZipArchiveEntry? entry = Zip(path, () => zip.GetEntry(prefix + name));
        if (entry is null)
        {
            return null;
        }

        if (entry.Length > 64)
        {
            throw new InvalidDataException($"{path}: {entry.FullName} is {entry.Length} bytes; expected a short line.");
        }

        byte[] bytes = new byte[entry.Length];
        ReadEntry(entry, bytes);
        return Encoding.ASCII.GetString(bytes);
    }

    // torch.save stores entries uncompressed; a compressed one (someone re-zipped the file) could declare any size,
    // while a stored one is no larger than the file.
    private void CheckStored(ZipArchiveEntry entry)
    {
        if (entry.CompressedLength != entry.Length)
        {
            throw new InvalidDataException($"{path}: {entry.FullName} is compressed; torch.save stores every entry uncompressed.");
        }
    }

    private void ReadEntry(ZipArchiveEntry entry, byte[] into)
    {
        CheckStored(entry);
        Zip(path, () =>
        {
            using Stream source = entry.Open();
            source.ReadExactly(into);
            return 0;
        });
        CheckCrc(entry, ZipCrc32.Append(0, into));
    }

    private void CheckCrc(ZipArchiveEntry entry, uint crc)
    {
        if (crc != entry.Crc32)
        {
            throw new InvalidDataException(
                $"{path}: {entry.FullName} is damaged: its bytes have CRC-32 {crc:x8}, the archive records {entry.Crc32:x8}.");
        }
    }

    // System.IO.Compression reports a damaged archive as InvalidDataException, IOException (EndOfStreamException
    // included) or NotSupportedException, without the file's name.
    private static T Zip<T>(string path, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: damaged zip archive: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or NotSupportedException)
        {
            throw new InvalidDataException($"{path}: damaged zip archive: {e.Message}", e);
        }
    }
}
