using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Diffusion.IO;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the raw little-endian data.
/// </summary>
/// <remarks>
/// The reader validates the whole header before allocating any tensor (offsets inside the file,
/// no overlaps or holes, known dtypes, shape × element size equal to the byte range) and reports
/// anything malformed as an <see cref="InvalidDataException"/> naming the file.
/// </remarks>
public static class SafeTensors
{
    /// <summary>Largest header accepted, as in the reference implementation.</summary>
    public const int MaxHeaderBytes = 100 * 1024 * 1024;

    /// <summary>
    /// Metadata key under which <see cref="Save"/> records the SHA-256 of the data section (lower-case hex); the
    /// readers here check it when present, so damage to tensor bytes is an error rather than wrong weights. Other
    /// safetensors readers ignore it.
    /// </summary>
    public const string ChecksumKey = "diffusion.data_sha256";

    /// <summary>Reads and validates the header of a safetensors file without reading tensor data.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The validated header.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid safetensors file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = File.OpenRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>Reads every tensor of a safetensors file onto the CPU.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The tensors by name, in file order. The caller owns them and disposes them.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid safetensors file.</exception>
    public static Dictionary<string, Tensor> Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = File.OpenRead(path);
        SafeTensorsHeader header = ReadHeader(stream, path);
        VerifyChecksum(stream, header, path);
        var result = new Dictionary<string, Tensor>(header.Entries.Count, StringComparer.Ordinal);
        try
        {
            foreach (SafeTensorsEntry entry in header.Entries)
            {
                result.Add(entry.Name, ReadTensor(stream, header, entry, path));
            }
        }
        catch
        {
            foreach (Tensor t in result.Values)
            {
                t.Dispose();
            }

            throw;
        }

        return result;
    }

    /// <summary>Writes tensors to a safetensors file, atomically: a temporary file renamed over <paramref name="path"/>.</summary>
    /// <param name="tensors">The tensors by name; any device and layout (they are copied to contiguous CPU memory).</param>
    /// <param name="path">The destination; an existing file is replaced only once the new one is complete.</param>
    /// <param name="metadata">Optional string metadata stored under <c>__metadata__</c>, to which the data's
    /// SHA-256 is added under <see cref="ChecksumKey"/> (replacing any value given for it) and <c>format</c> =
    /// <c>pt</c> unless given.</param>
    /// <exception cref="ArgumentException">A name is empty or <c>__metadata__</c>, or a dtype has no safetensors code.</exception>
    public static void Save(IReadOnlyDictionary<string, Tensor> tensors, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentException.ThrowIfNullOrEmpty(path);
        // The data's SHA-256 is known only once the data is written, after the header: the header gets a placeholder
        // of the same length, overwritten at the end (one pass over the tensors).
        string placeholder = new('0', 64);
        var withChecksum = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [ChecksumKey] = placeholder,
        };
        withChecksum.TryAdd("format", "pt"); // transformers refuses a file whose metadata lacks it
        var header = new Dictionary<string, object>(StringComparer.Ordinal) { ["__metadata__"] = withChecksum };
        long offset = 0;
        foreach ((string name, Tensor tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name) || name == "__metadata__")
            {
                throw new ArgumentException($"tensor names must be non-empty and not '__metadata__'; got '{name}'.", nameof(tensors));
            }

            string code = SafeTensorsDType.ToCode(tensor.dtype, name);
            long bytes = tensor.numel() * SafeTensorsDType.ElementSize(tensor.dtype);
            header[name] = new { dtype = code, shape = tensor.shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }

        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int keyAt = json.AsSpan().IndexOf(Encoding.UTF8.GetBytes($"\"{ChecksumKey}\":\"{placeholder}\""));
        if (keyAt < 0)
        {
            throw new InvalidOperationException($"the serialised header has no '{ChecksumKey}' placeholder to fill in."); // cannot happen with System.Text.Json's escaping
        }

        int checksumAt = keyAt + ChecksumKey.Length + 4; // past the quoted key, the colon and the opening quote
        int padded = (json.Length + 7) / 8 * 8; // align the data section to 8 bytes, padding with spaces
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            stream.Write(length);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++)
            {
                stream.WriteByte((byte)' ');
            }

            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (Tensor tensor in tensors.Values)
            {
                using var scope = NewDisposeScope();
                Tensor cpu = tensor.detach().cpu().contiguous();
                ReadOnlySpan<byte> bytes = cpu.bytes;
                sha.AppendData(bytes);
                stream.Write(bytes);
            }

            stream.Seek(8 + checksumAt, SeekOrigin.Begin);
            stream.Write(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(sha.GetHashAndReset())));
            stream.Seek(0, SeekOrigin.End);
        });
    }

    /// <summary>Copies a safetensors file's tensors into a module's parameters and buffers, by state-dict key.</summary>
    /// <param name="module">The module; its parameters keep their device and dtype (values are converted).</param>
    /// <param name="path">The file.</param>
    /// <param name="strict">When true, any missing or unexpected key, as well as a shape mismatch, is an error.</param>
    /// <returns>The keys that were missing from the file or unexpected in it (both empty after a strict load).</returns>
    /// <exception cref="InvalidDataException">The file is malformed, a shape differs, or (strict) keys do not match.</exception>
    public static SafeTensorsLoadResult LoadSafeTensors(this nn.Module module, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = File.OpenRead(path);
        SafeTensorsHeader header = ReadHeader(stream, path);
        VerifyChecksum(stream, header, path); // before any parameter is overwritten
        Dictionary<string, Tensor> targets = module.state_dict();
        var entries = header.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        SafeTensorsLoadResult result = StateDictCheck.Match(path, targets, entries.ToDictionary(e => e.Key, e => e.Value.Shape, StringComparer.Ordinal), strict);
        using (no_grad())
        {
            foreach ((string name, Tensor target) in targets)
            {
                if (entries.TryGetValue(name, out SafeTensorsEntry? entry))
                {
                    using var scope = NewDisposeScope();
                    target.copy_(ReadTensor(stream, header, entry, path));
                }
            }
        }

        return result;
    }

    /// <summary>Writes a module's state dict (parameters and buffers) to a safetensors file, atomically.</summary>
    /// <param name="module">The module.</param>
    /// <param name="path">The destination.</param>
    /// <param name="metadata">Optional string metadata.</param>
    public static void SaveSafeTensors(this nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        Save(module.state_dict(), path, metadata);
    }

    /// <summary>Compares the data section's SHA-256 with the header's <see cref="ChecksumKey"/>, when there is one.</summary>
    internal static void VerifyChecksum(FileStream stream, SafeTensorsHeader header, string path)
    {
        if (!header.Metadata.TryGetValue(ChecksumKey, out string? expected))
        {
            return; // written elsewhere: nothing to compare with
        }

        stream.Seek(header.DataStart, SeekOrigin.Begin);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                sha.AppendData(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        string actual = Convert.ToHexStringLower(sha.GetHashAndReset());
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"{path}: the tensor data is damaged: its SHA-256 is {actual}, the header records {expected} ({ChecksumKey}).");
        }
    }

    internal static Tensor ReadTensor(FileStream stream, SafeTensorsHeader header, SafeTensorsEntry entry, string path)
    {
        Tensor tensor = empty([.. entry.Shape], entry.DType);
        try
        {
            stream.Seek(header.DataStart + entry.Begin, SeekOrigin.Begin);
            stream.ReadExactly(tensor.bytes);
            return tensor;
        }
        catch (EndOfStreamException e)
        {
            tensor.Dispose();
            throw new InvalidDataException($"{path}: the file ends inside tensor '{entry.Name}'.", e);
        }
    }

    internal static SafeTensorsHeader ReadHeader(FileStream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
        {
            throw new InvalidDataException($"{path}: not a safetensors file: {fileLength} bytes, fewer than the 8-byte header length.");
        }

        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
        {
            throw new InvalidDataException(
                $"{path}: header length {headerLength} is larger than the file allows ({fileLength - 8} bytes after the length, at most {MaxHeaderBytes}).");
        }

        byte[] json = new byte[(int)headerLength];
        stream.ReadExactly(json);
        return SafeTensorsHeaderParser.Parse(json, path, dataStart: 8 + (long)headerLength, dataLength: fileLength - 8 - (long)headerLength);
    }
}
