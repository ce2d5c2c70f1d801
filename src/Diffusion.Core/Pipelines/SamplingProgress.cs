namespace Diffusion.Pipelines;

/// <summary>A report after each denoising step.</summary>
/// <param name="Step">Steps done in this batch, 1-based.</param>
/// <param name="TotalSteps">Steps per batch.</param>
/// <param name="Timestep">The timestep just denoised.</param>
/// <param name="Batch">The batch being sampled, 0-based.</param>
/// <param name="Batches">Number of batches.</param>
public sealed record SamplingProgress(int Step, int TotalSteps, double Timestep, int Batch, int Batches);
