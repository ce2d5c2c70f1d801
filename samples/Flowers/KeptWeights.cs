using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.Flowers;

/// <summary>
/// A copy of a model's weights (parameters and buffers) taken at the start of a run, so that the run can hand back the
/// weights it started with when training did not make them better on the held-out check.
/// </summary>
public sealed class KeptWeights : IDisposable
{
    private readonly Dictionary<string, Tensor> copies;

    private KeptWeights(Dictionary<string, Tensor> copies) => this.copies = copies;

    /// <summary>Copies every tensor of <paramref name="model"/>'s state (on the CPU; the model's own stay where they are).</summary>
    /// <param name="model">The model.</param>
    /// <returns>The copy; the caller disposes it.</returns>
    public static KeptWeights Of(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope(); // the detached views and device copies on the way
        return new KeptWeights(model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().clone().DetachFromDisposeScope()));
    }

    /// <summary>Writes the copy back into <paramref name="model"/> (the same module it was taken from), in place.</summary>
    /// <param name="model">The model.</param>
    /// <exception cref="ArgumentException">The model has a tensor the copy lacks, or one of another shape.</exception>
    public void RestoreInto(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var noGrad = no_grad();
        foreach ((string name, Tensor target) in model.state_dict())
        {
            if (!copies.TryGetValue(name, out Tensor? source))
            {
                throw new ArgumentException($"model has a tensor '{name}' the kept weights do not; restore into the model they were taken from.", nameof(model));
            }

            if (!source.shape.SequenceEqual(target.shape))
            {
                throw new ArgumentException(
                    $"model's '{name}' has shape [{string.Join(", ", target.shape)}], the kept weights' [{string.Join(", ", source.shape)}]; restore into the model they were taken from.",
                    nameof(model));
            }

            target.copy_(source);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (Tensor tensor in copies.Values)
        {
            tensor.Dispose();
        }

        copies.Clear();
    }
}
