namespace Diffusion.IO;

/// <summary>
/// Reads PyTorch state dicts saved with <c>torch.save</c> (<c>.pt</c>, <c>.pth</c>, <c>.bin</c>; the zip format
/// PyTorch writes since 1.6) without Python and without running any code from the file.
/// </summary>
/// <remarks>
/// <para>
/// A pickle can name any Python function and have the loader call it, so <c>torch.load</c> on an untrusted file can
/// run anything. This reader is not an unpickler with a blacklist but an interpreter of the few opcodes and globals a
/// state dict needs: <c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor_v2</c> (and
/// <c>_rebuild_tensor</c>, <c>_rebuild_parameter</c>, <c>_rebuild_parameter_with_state</c>) and the typed storages
/// <c>torch.FloatStorage</c>, <c>DoubleStorage</c>, <c>HalfStorage</c>, <c>BFloat16Storage</c>, <c>LongStorage</c>,
/// <c>IntStorage</c>, <c>ShortStorage</c>, <c>CharStorage</c>, <c>ByteStorage</c>, <c>BoolStorage</c>, each turned
/// into plain data. Any other global (<c>posix.system</c>, <c>builtins.eval</c>, numpy's array rebuild, a custom
/// class) or opcode is an <see cref="InvalidDataException"/> naming the file and the global.
/// </para>
/// <para>
/// Everything that needs no tensor data is checked before any tensor is allocated: the pickle's sizes (stack, memo,
/// strings), each tensor's shape, stride and offset against its storage's declared size, and each storage's size
/// against its zip entry. Storages are then streamed from the archive into tensor memory, so reading a file needs
/// about its size in memory, not twice that. The legacy format (PyTorch before 1.6), TorchScript archives and
/// big-endian files are refused with a message saying how to re-save them.
/// </para>
/// </remarks>
public static class TorchPickle
{
    /// <summary>Reads every tensor of a PyTorch state dict onto the CPU.</summary>
    /// <param name="path">A file written by <c>torch.save(state_dict, path)</c>: a dict or OrderedDict of tensors
    /// (<c>nn.Module.state_dict()</c>, whose <c>_metadata</c> is ignored). A checkpoint dict that holds the state dict
    /// under <c>"state_dict"</c> or <c>"model"</c> (next to, say, an optimizer state) is read through to it.</param>
    /// <param name="dtype">When given, floating-point tensors are converted to this floating-point type (integer and
    /// bool tensors, such as BatchNorm's <c>num_batches_tracked</c>, keep theirs), as diffusers' <c>torch_dtype</c> does.</param>
    /// <returns>
    /// The tensors by state-dict key, in the file's order, on the CPU, without <c>requires_grad</c>; the device each
    /// was saved from (<c>cuda:0</c>…) is ignored. The caller owns them and disposes them. Tensors that shared a
    /// storage in the file (tied weights, views) share it here too, as after <c>torch.load</c>, unless
    /// <paramref name="dtype"/> converted them.
    /// </returns>
    /// <exception cref="InvalidDataException">The file is not a PyTorch zip archive, is damaged, holds anything but
    /// tensors, or names a global outside the allowlist; the message names the file.</exception>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not a floating-point type.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static Dictionary<string, Tensor> ReadStateDict(string path, ScalarType? dtype = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (dtype is { } d && d is not (ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64))
        {
            throw new ArgumentException($"dtype must be a floating-point type (Float16, BFloat16, Float32, Float64); got {d}.", nameof(dtype));
        }

        using TorchArchive archive = TorchArchive.Open(path);
        var read = new Dictionary<string, Tensor>(archive.Tensors.Count, StringComparer.Ordinal);
        try
        {
            archive.ReadTensors(archive.Tensors, (name, tensor) =>
            {
                if (dtype is { } type && tensor.is_floating_point() && tensor.dtype != type)
                {
                    using Tensor original = tensor;
                    tensor = original.to(type);
                }

                read.Add(name, tensor);
            });

            // Storages are read in file order; the result keeps the state dict's order.
            var result = new Dictionary<string, Tensor>(read.Count, StringComparer.Ordinal);
            foreach ((string name, _) in archive.Tensors)
            {
                result.Add(name, read[name]);
            }

            return result;
        }
        catch
        {
            foreach (Tensor t in read.Values)
            {
                t.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Copies a PyTorch state dict (a <c>torch.save</c> file, as <see cref="ReadStateDict"/> reads it) into a module's
    /// parameters and buffers, by state-dict key, with the same rules as <see cref="SafeTensors.LoadSafeTensors"/>.
    /// </summary>
    /// <param name="module">The module; its parameters keep their device and dtype (values are converted).</param>
    /// <param name="path">The file, e.g. the book's <c>diffusion.pth</c> into a <c>UNet</c> of the same options.</param>
    /// <param name="strict">When true, any missing or unexpected key, as well as a shape mismatch, is an error.</param>
    /// <returns>The keys that were missing from the file or unexpected in it (both empty after a strict load).</returns>
    /// <exception cref="InvalidDataException">The file is malformed or refused (see <see cref="ReadStateDict"/>), a
    /// shape differs, or (strict) keys do not match; all checked before any parameter changes, except damage found
    /// while reading a storage's bytes.</exception>
    public static SafeTensorsLoadResult LoadTorchStateDict(this nn.Module module, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using TorchArchive archive = TorchArchive.Open(path);
        Dictionary<string, Tensor> targets = module.state_dict();
        var shapes = new Dictionary<string, IReadOnlyList<long>>(StringComparer.Ordinal);
        foreach ((string name, TorchTensorRecord record) in archive.Tensors)
        {
            shapes[name] = record.Shape;
        }

        SafeTensorsLoadResult result = StateDictCheck.Match(path, targets, shapes, strict);
        using (no_grad())
        {
            // One storage in memory at a time: each is copied into the module and released before the next is read.
            archive.ReadTensors(archive.Tensors.Where(t => targets.ContainsKey(t.Name)), (name, tensor) =>
            {
                using (tensor)
                {
                    targets[name].copy_(tensor);
                }
            });
        }

        return result;
    }
}
