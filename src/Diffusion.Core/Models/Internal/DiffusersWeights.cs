using System.Text.RegularExpressions;
using Diffusion.IO;

namespace Diffusion.Models.Internal;

/// <summary>
/// Finds and reads the weights of a diffusers model folder into a module: <c>diffusion_pytorch_model.safetensors</c>,
/// else the <c>.fp16.safetensors</c> variant, else the PyTorch pickle <c>diffusion_pytorch_model.bin</c>. Safetensors
/// are read one tensor at a time and copied into the module's parameters (converted to their dtype and device), so a
/// file is never held in memory twice; a pickle is read whole (<see cref="TorchPickle.ReadStateDict"/>), then copied.
/// </summary>
internal static partial class DiffusersWeights
{
    public const string SafeTensorsFileName = "diffusion_pytorch_model.safetensors";
    public const string Fp16SafeTensorsFileName = "diffusion_pytorch_model.fp16.safetensors";
    public const string PickleFileName = "diffusion_pytorch_model.bin";

    /// <summary>One tensor of the file: its name, its shape, and how to read it (the caller disposes what it returns).</summary>
    private sealed record Source(string Name, IReadOnlyList<long> Shape, Func<Tensor> Read);

    /// <summary>The weights file of <paramref name="directory"/>, in diffusers' order of preference.</summary>
    /// <exception cref="FileNotFoundException">None of the three files exists.</exception>
    public static string Find(string directory) => PretrainedFolder.FindWeights(directory, SafeTensorsFileName, Fp16SafeTensorsFileName, PickleFileName);

    /// <summary>Every tensor's shape, from a safetensors header or a pickle (no tensor data is read).</summary>
    /// <exception cref="InvalidDataException">The header or pickle is malformed.</exception>
    public static IReadOnlyDictionary<string, IReadOnlyList<long>> Shapes(string path)
    {
        var shapes = new Dictionary<string, IReadOnlyList<long>>(StringComparer.Ordinal);
        if (path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase))
        {
            using TorchArchive archive = TorchArchive.Open(path); // the pickle only: no tensor data is read
            foreach ((string name, TorchTensorRecord record) in archive.Tensors)
            {
                shapes.TryAdd(name, record.Shape);
            }

            return shapes;
        }

        foreach (SafeTensorsEntry entry in SafeTensors.ReadHeader(path).Entries)
        {
            shapes.TryAdd(entry.Name, entry.Shape);
        }

        return shapes;
    }

    /// <summary>Copies the file's tensors into <paramref name="module"/>, renaming old attention keys as diffusers does.</summary>
    /// <returns>How many keys were renamed.</returns>
    /// <exception cref="InvalidDataException">The file is malformed, or keys are missing, unexpected or of the wrong shape (all listed).</exception>
    public static int Load(nn.Module module, string path)
    {
        if (path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase))
        {
            Dictionary<string, Tensor> stateDict = ReadPickleStateDict(path);
            try
            {
                return Load(module, path, [.. stateDict.Select(p => new Source(p.Key, p.Value.shape, () => p.Value.alias()))]);
            }
            finally
            {
                foreach (Tensor t in stateDict.Values)
                {
                    t.Dispose();
                }
            }
        }

        using FileStream stream = File.OpenRead(path);
        SafeTensorsHeader header = SafeTensors.ReadHeader(stream, path);
        SafeTensors.VerifyChecksum(stream, header, path); // before any parameter is overwritten
        return Load(module, path, [.. header.Entries.Select(e => new Source(e.Name, e.Shape, () => SafeTensors.ReadTensor(stream, header, e, path)))]);
    }

    /// <summary>The one place that reads PyTorch pickles: <see cref="TorchPickle"/> accepts only the opcodes and
    /// globals of a state dict and never runs code from the file.</summary>
    private static Dictionary<string, Tensor> ReadPickleStateDict(string path) => TorchPickle.ReadStateDict(path);

    /// <summary>diffusers' <c>_fix_state_dict_keys_on_load</c>: <c>query</c>, <c>key</c>, <c>value</c>,
    /// <c>proj_attn</c> of an attention block become <c>to_q</c>, <c>to_k</c>, <c>to_v</c>, <c>to_out.0</c>.</summary>
    internal static string? RenameDeprecatedAttentionKey(string key)
    {
        Match m = DeprecatedAttentionKey().Match(key);
        if (!m.Success)
        {
            return null;
        }

        string renamed = m.Groups[2].Value switch
        {
            "query" => "to_q",
            "key" => "to_k",
            "value" => "to_v",
            _ => "to_out.0",
        };
        return $"{m.Groups[1].Value}.{renamed}.{m.Groups[3].Value}";
    }

    private static int Load(nn.Module module, string path, IReadOnlyList<Source> sources)
    {
        Dictionary<string, Tensor> targets = module.state_dict();
        var byTarget = new Dictionary<string, Source>(StringComparer.Ordinal);
        var unexpected = new List<string>();
        int renamed = 0;
        foreach (Source source in sources)
        {
            string name = source.Name;
            if (!targets.ContainsKey(name) && RenameDeprecatedAttentionKey(name) is { } newName && targets.ContainsKey(newName))
            {
                name = newName;
                renamed++;
            }

            if (!targets.ContainsKey(name) || !byTarget.TryAdd(name, source))
            {
                unexpected.Add(source.Name); // unknown, or a second tensor for the same parameter (old and new name both present)
            }
        }

        string[] missing = [.. targets.Keys.Where(k => !byTarget.ContainsKey(k))];
        string[] wrongShape =
        [
            .. byTarget
                .Where(p => !p.Value.Shape.SequenceEqual(targets[p.Key].shape))
                .Select(p => $"{p.Value.Name}: file [{string.Join(',', p.Value.Shape)}], model [{string.Join(',', targets[p.Key].shape)}]"),
        ];
        if (missing.Length > 0 || unexpected.Count > 0 || wrongShape.Length > 0)
        {
            throw new InvalidDataException(
                $"{path}: the weights do not fit the model built from config.json. " +
                $"Missing from the file ({missing.Length}): {List(missing)}. " +
                $"Unexpected in the file ({unexpected.Count}): {List(unexpected)}. " +
                $"Wrong shape ({wrongShape.Length}): {List(wrongShape)}.");
        }

        using (no_grad())
        {
            foreach ((string name, Source source) in byTarget)
            {
                using var scope = NewDisposeScope();
                targets[name].copy_(source.Read());                                     // converts dtype and device
            }
        }

        return renamed;
    }

    private static string List(IReadOnlyCollection<string> items) => items.Count == 0 ? "none" : string.Join(", ", items);

    [GeneratedRegex(@"^(.+)\.(query|key|value|proj_attn)\.(weight|bias)$", RegexOptions.CultureInvariant)]
    private static partial Regex DeprecatedAttentionKey();
}
