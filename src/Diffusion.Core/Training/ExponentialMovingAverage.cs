namespace Diffusion.Training;

/// <summary>
/// An exponential moving average of weights, as diffusers' EMAModel: at the k-th update the decay is
/// min(maxDecay, k / (9 + k)), so early updates follow the weights closely ("warm-up").
/// </summary>
internal sealed class ExponentialMovingAverage : IDisposable
{
    private readonly (string Name, Tensor Shadow)[] shadows;
    private readonly double maxDecay;

    public ExponentialMovingAverage(IEnumerable<(string Name, Tensor Weight)> weights, double maxDecay)
    {
        this.maxDecay = maxDecay;
        using var noGrad = no_grad();
        shadows = [.. weights.Select(w => (w.Name, w.Weight.detach().to(float32).clone().DetachFromDisposeScope()))];
    }

    public long Updates { get; private set; }

    /// <summary>The decay the next update will use.</summary>
    public double NextDecay => Math.Min(maxDecay, (1.0 + Updates) / (10.0 + Updates));

    /// <summary>Continues the decay's warm-up as if <paramref name="updates"/> updates had been made (weights that already had them).</summary>
    public void ContinueAt(long updates) => Updates = updates;

    public void Update(IEnumerable<(string Name, Tensor Weight)> weights)
    {
        double decay = NextDecay;
        Updates++;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var byName = weights.ToDictionary(w => w.Name, w => w.Weight, StringComparer.Ordinal);
        foreach ((string name, Tensor shadow) in shadows)
        {
            // shadow ← shadow − (1 − decay)·(shadow − weight)
            shadow.sub_((shadow - byName[name].to(float32)).mul_(1 - decay));
        }
    }

    public void CopyTo(IEnumerable<(string Name, Tensor Weight)> weights)
    {
        using var noGrad = no_grad();
        var byName = shadows.ToDictionary(s => s.Name, s => s.Shadow, StringComparer.Ordinal);
        foreach ((string name, Tensor weight) in weights)
        {
            weight.copy_(byName[name]);
        }
    }

    public void AddStateTo(IDictionary<string, Tensor> tensors, string prefix)
    {
        foreach ((string name, Tensor shadow) in shadows)
        {
            tensors[prefix + name] = shadow;
        }
    }

    public void LoadStateFrom(IReadOnlyDictionary<string, Tensor> tensors, string prefix, long updates, string path)
    {
        // Every tensor is checked before any is copied: a refused checkpoint leaves the average as it was.
        foreach ((string name, Tensor shadow) in shadows)
        {
            if (!tensors.TryGetValue(prefix + name, out Tensor? source) || !source.shape.SequenceEqual(shadow.shape))
            {
                throw new InvalidDataException($"{path}: the checkpoint lacks EMA weights '{prefix}{name}' with shape [{string.Join(',', shadow.shape)}].");
            }
        }

        using var noGrad = no_grad();
        foreach ((string name, Tensor shadow) in shadows)
        {
            shadow.copy_(tensors[prefix + name]);
        }

        Updates = updates;
    }

    public void Dispose()
    {
        foreach ((_, Tensor shadow) in shadows)
        {
            shadow.Dispose();
        }
    }
}
