namespace Diffusion.IO;

/// <summary>A validated safetensors header: the tensors a file holds and its free-form metadata.</summary>
/// <param name="Entries">The tensors, ordered by their offset in the file.</param>
/// <param name="Metadata">The <c>__metadata__</c> string map (empty when the file has none).</param>
/// <param name="DataStart">Absolute file offset where the data section starts.</param>
public sealed record SafeTensorsHeader(IReadOnlyList<SafeTensorsEntry> Entries, IReadOnlyDictionary<string, string> Metadata, long DataStart);
