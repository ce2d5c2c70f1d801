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

    /// <summary>
    /// Compares the shapes a model's config file implies for a few telling tensors with a weights file's header, before the
    /// model is built: the config alone decides how much memory the model takes, so a damaged one (a wrong digit in a
    /// width or a layer count) must not ask for more than the file holds.
    /// </summary>
    /// <param name="weightsPath">The weights file, for messages.</param>
    /// <param name="configFileName">The config file's name, for messages.</param>
    /// <param name="mismatch">What a mismatch means, for messages, e.g. "do not fit the UNet2DModel".</param>
    /// <param name="expected">Tensor names and the shapes the config implies for them.</param>
    /// <param name="fileShapes">The weights file's tensors and their shapes.</param>
    /// <exception cref="InvalidDataException">A tensor is missing or has another shape; every such tensor is listed.</exception>
    public static void ConfigSizes(string weightsPath, string configFileName, string mismatch,
        IEnumerable<(string Key, long[] Shape)> expected, IReadOnlyDictionary<string, IReadOnlyList<long>> fileShapes)
    {
        string[] problems =
        [
            .. expected
                .Where(e => !fileShapes.TryGetValue(e.Key, out IReadOnlyList<long>? actual) || !actual.SequenceEqual(e.Shape))
                .Select(e => $"{e.Key}: {configFileName} says [{string.Join(',', e.Shape)}], the file has " +
                    (fileShapes.TryGetValue(e.Key, out IReadOnlyList<long>? actual) ? $"[{string.Join(',', actual)}]" : "no such tensor")),
        ];
        if (problems.Length > 0)
        {
            throw new InvalidDataException(
                $"{weightsPath}: the weights {mismatch} in {configFileName} (checked before building the model): {string.Join("; ", problems)}.");
        }
    }

    private static string Preview(string[] keys) =>
        keys.Length == 0 ? "none" : string.Join(", ", keys.Take(8)) + (keys.Length > 8 ? ", …" : string.Empty);
}
