namespace Diffusion.Soak;

/// <summary>One reading: where the run was and what it held.</summary>
/// <param name="Phase">"train" or "sample".</param>
/// <param name="Step">Optimizer steps, or sampling steps over all calls, so far in the phase.</param>
/// <param name="Seconds">Seconds since the start of the run.</param>
/// <param name="ResidentBytes">Resident set size (/proc/self/statm, else the working set).</param>
/// <param name="ManagedBytes">The GC heap (GC.GetTotalMemory without collecting).</param>
/// <param name="LiveTensors">Tensors alive in the whole process (TorchSharp's Tensor.TotalCount).</param>
internal sealed record MemorySample(string Phase, long Step, double Seconds, long ResidentBytes, long ManagedBytes, long LiveTensors);
