namespace Diffusion.IO;

/// <summary>One tensor's description in a safetensors header.</summary>
/// <param name="Name">The tensor's name (a state-dict key).</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The tensor's shape.</param>
/// <param name="Begin">Offset of the first byte, from the start of the data section.</param>
/// <param name="End">Offset one past the last byte, from the start of the data section.</param>
public sealed record SafeTensorsEntry(string Name, ScalarType DType, IReadOnlyList<long> Shape, long Begin, long End);
