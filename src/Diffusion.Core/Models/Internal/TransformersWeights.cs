using Diffusion.IO;

namespace Diffusion.Models.Internal;

/// <summary>
/// Reads the weights of a Hugging Face transformers folder (<c>model.safetensors</c>, or a PyTorch <c>.bin</c> read
/// without running code from it) into a model by state-dict key. transformers' checkpoints may carry buffers the model
/// makes on the fly; those are named and skipped, every other missing or unexpected key is an error.
/// </summary>
internal static class TransformersWeights
{
    /// <summary>Copies the file's tensors into <paramref name="model"/> (converted to its dtype and device).</summary>
    /// <param name="model">The model.</param>
    /// <param name="weightsPath">The weights file.</param>
    /// <param name="ignoredKeys">Keys the file may hold that the model does not have.</param>
    /// <param name="mismatch">What a mismatch means, for the message, e.g. "do not fit the CLIPTextModel".</param>
    /// <param name="hint">Ends the message with a hint on the unexpected keys, or with "."; null always ends it with ".".</param>
    /// <exception cref="InvalidDataException">The file is malformed, or a key is missing or unexpected; the message names the file.</exception>
    public static void Load(nn.Module model, string weightsPath, IReadOnlySet<string> ignoredKeys, string mismatch, Func<string[], string>? hint = null)
    {
        SafeTensorsLoadResult result = weightsPath.EndsWith(".bin", StringComparison.Ordinal)
            ? model.LoadTorchStateDict(weightsPath, strict: false)
            : model.LoadSafeTensors(weightsPath, strict: false);
        string[] unexpected = [.. result.UnexpectedKeys.Where(k => !ignoredKeys.Contains(k))];
        if (result.MissingKeys.Count > 0 || unexpected.Length > 0)
        {
            throw new InvalidDataException(
                $"{weightsPath}: the weights {mismatch} in {PretrainedFolder.ConfigFileName}. " +
                $"Missing ({result.MissingKeys.Count}): {string.Join(", ", result.MissingKeys.Take(8))}. " +
                $"Unexpected ({unexpected.Length}): {string.Join(", ", unexpected.Take(8))}" + (hint?.Invoke(unexpected) ?? "."));
        }
    }
}
