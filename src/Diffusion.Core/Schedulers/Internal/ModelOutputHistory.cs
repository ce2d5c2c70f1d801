namespace Diffusion.Schedulers.Internal;

/// <summary>
/// The last converted model outputs of a multistep solver (DPM-Solver, UniPC), oldest first, and how many steps have
/// run since the history was cleared (diffusers' model_outputs and lower_order_nums). Owns the tensors it keeps.
/// </summary>
internal sealed class ModelOutputHistory : IDisposable
{
    private readonly Tensor?[] _outputs;

    /// <param name="order">How many outputs are kept (the solver order).</param>
    public ModelOutputHistory(int order) => _outputs = new Tensor?[order];

    /// <summary>How many outputs are kept.</summary>
    public int Length => _outputs.Length;

    /// <summary>Steps taken since <see cref="Clear"/>, at most <see cref="Length"/>: the solver warms up through the lower orders.</summary>
    public int LowerOrderNums { get; private set; }

    /// <summary>The output at <paramref name="index"/> (^1 is the newest); only those pushed since <see cref="Clear"/> are set.</summary>
    public Tensor this[Index index] => _outputs[index]!;

    /// <summary>Drops the oldest output and keeps <paramref name="converted"/> as the newest (detached from the caller's scope).</summary>
    public void Push(Tensor converted)
    {
        _outputs[0]?.Dispose();
        for (int k = 0; k < _outputs.Length - 1; k++)
        {
            _outputs[k] = _outputs[k + 1];
        }

        _outputs[^1] = converted.alias().DetachFromDisposeScope();
    }

    /// <summary>Counts a finished step (up to <see cref="Length"/>).</summary>
    public void CountStep()
    {
        if (LowerOrderNums < _outputs.Length)
        {
            LowerOrderNums++;
        }
    }

    /// <summary>Frees the outputs and starts the warm-up again.</summary>
    public void Clear()
    {
        for (int k = 0; k < _outputs.Length; k++)
        {
            _outputs[k]?.Dispose();
            _outputs[k] = null;
        }

        LowerOrderNums = 0;
    }

    public void Dispose() => Clear();
}
