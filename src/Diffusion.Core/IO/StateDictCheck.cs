using static TorchSharp.torch;

namespace Diffusion.IO;

/// <summary>
/// The rules every weights file loaded into a module by state-dict key follows (safetensors and PyTorch files alike),
/// checked before any parameter changes: with <c>strict</c>, no key may be missing or unexpected; in either mode,
/// every shared key must have the module's shape.
/// </summary>
internal static class StateDictCheck
{
    /// <summary>Compares a file's tensor shapes with a module's state dict.</summary>
    /// <param name="path">The file, for messages.</param>
    /// <param name="targets">The module's state dict.</param>
    /// <param name="fileShapes">The file's tensors and their shapes, in file order.</param>
    /// <param name="strict">Whether missing and unexpected keys are errors.</param>
    /// <returns>The missing and unexpected keys (both empty when <paramref name="strict"/>).</returns>
    /// <exception cref="InvalidDataException">A shape differs, or (strict) the keys differ.</exception>
    public static SafeTensorsLoadResult Match(
        string path, IReadOnlyDictionary<string, Tensor> targets, IReadOnlyDictionary<string, IReadOnlyList<long>> fileShapes, bool strict)
    {
        string[] missing = [.. targets.Keys.Where(k => !fileShapes.ContainsKey(k))];
        string[] unexpected = [.. fileShapes.Keys.Where(k => !targets.ContainsKey(k))];
        if (strict && (missing.Length > 0 || unexpected.Length > 0))
        {
            throw new InvalidDataException(
                $"{path}: the file's tensors do not match the module's state dict. " +
                $"Missing from the file ({missing.Length}): {Preview(missing)}. Unexpected in the file ({unexpected.Length}): {Preview(unexpected)}.");
        }

        var shapeErrors = new List<string>();
        foreach ((string name, Tensor target) in targets)
        {
            if (fileShapes.TryGetValue(name, out IReadOnlyList<long>? shape) && !shape.SequenceEqual(target.shape))
            {
                shapeErrors.Add($"{name}: file [{string.Join(',', shape)}], module [{string.Join(',', target.shape)}]");
            }
        }

        if (shapeErrors.Count > 0)
        {
            throw new InvalidDataException($"{path}: tensor shapes differ from the module's: {string.Join("; ", shapeErrors)}.");
        }

        return new SafeTensorsLoadResult(missing, unexpected);
    }

    private static string Preview(string[] keys) =>
        keys.Length == 0 ? "none" : string.Join(", ", keys.Take(8)) + (keys.Length > 8 ? ", …" : string.Empty);
}
