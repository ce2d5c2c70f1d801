namespace Diffusion.IO;

/// <summary>What a non-strict load found: state-dict keys the file lacked, and file tensors the module has no place for.</summary>
/// <param name="MissingKeys">Module keys not in the file (left unchanged).</param>
/// <param name="UnexpectedKeys">File tensors with no matching module key (ignored).</param>
public sealed record SafeTensorsLoadResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
