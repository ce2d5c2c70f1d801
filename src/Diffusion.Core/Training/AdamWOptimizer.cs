using TorchSharp.Modules;

namespace Diffusion.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter) exactly as torch.optim.AdamW's single-tensor path computes it, with its
/// state as named tensors so that checkpoints hold it in safetensors. With <c>masterFloat32</c> the
/// update runs on float32 copies of low-precision parameters (bf16 training).
/// </summary>
/// <remarks>
/// When all parameters share a dtype and a device, they, their gradients, the moments and the float32 masters
/// each live in one flat buffer (the parameters become views into it, as PyTorch's multi-tensor "foreach"
/// AdamW does in effect), so a step is about ten element-wise kernels in all instead of ten per parameter
/// tensor: on a GPU a small model's step is otherwise bound by kernel launches (docs/performance.md §8). The
/// arithmetic is element for element the same. The gradient buffer is set up at the first step, once every
/// parameter has a gradient; if one has none then, the update goes parameter by parameter and skips it, as
/// torch.optim.AdamW skips a parameter whose gradient is None. Each step checks that every gradient is still
/// its view of the buffer (something may have set a gradient to None, and backward then made a new one) and
/// moves them back if not. Two differences from torch.optim.AdamW, in both modes: one step count serves all
/// parameters (PyTorch counts per parameter, which differs only for a parameter whose first gradient comes
/// late), and gradients are zeroed rather than set to None, so a parameter that once had a gradient keeps
/// being decayed when a later step gives it none (PyTorch with <c>zero_grad(set_to_none: false)</c>).
/// </remarks>
internal sealed class AdamWOptimizer : IDisposable
{
    private readonly Slot[] slots;
    private readonly double beta1;
    private readonly double beta2;
    private readonly double epsilon;
    private readonly double weightDecay;
    private readonly Flat? flat;
    private readonly bool[] decayed;   // per slot: does the weight decay apply
    private readonly bool decayAll;

    /// <summary>Creates the optimizer over <paramref name="parameters"/> (they become views of one flat buffer where they can).</summary>
    /// <param name="parameters">The trained parameters by name.</param>
    /// <param name="beta1">β1.</param>
    /// <param name="beta2">β2.</param>
    /// <param name="epsilon">ε.</param>
    /// <param name="weightDecay">Decoupled weight decay.</param>
    /// <param name="masterFloat32">Keep float32 master copies of low-precision parameters (bf16 training).</param>
    /// <param name="decays">Which parameters the weight decay applies to, by name and parameter; null: all of them. CLIP spares
    /// biases, norms, embedding vectors and <c>logit_scale</c> (open_clip's rule: fewer than 2 dimensions).</param>
    public AdamWOptimizer(IEnumerable<(string Name, Parameter Parameter)> parameters, double beta1, double beta2, double epsilon, double weightDecay, bool masterFloat32,
        Func<string, Parameter, bool>? decays = null)
    {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.weightDecay = weightDecay;
        using var noGrad = no_grad();
        (string Name, Parameter Parameter)[] list = [.. parameters];
        decayed = [.. list.Select(p => decays?.Invoke(p.Name, p.Parameter) ?? true)];
        decayAll = decayed.All(d => d);
        Parameter? first = list.Length > 0 ? list[0].Parameter : null;
        bool uniform = first is not null && list.All(p =>
            p.Parameter.dtype == first.dtype && p.Parameter.device_type == first.device_type && p.Parameter.device_index == first.device_index);
        if (!uniform)
        {
            slots = [.. list.Select(p =>
            {
                Tensor? master = masterFloat32 ? p.Parameter.detach().to(float32).clone().DetachFromDisposeScope() : null;
                Tensor like = master ?? p.Parameter;
                return new Slot(p.Name, p.Parameter, master, zeros_like(like).DetachFromDisposeScope(), zeros_like(like).DetachFromDisposeScope());
            })];
            return;
        }

        long total = list.Sum(p => p.Parameter.numel());
        Tensor values = empty(total, dtype: first!.dtype, device: first.device).DetachFromDisposeScope();
        long offset = 0;
        var offsets = new long[list.Length];
        for (int i = 0; i < list.Length; i++)
        {
            using var scope = NewDisposeScope();
            Parameter parameter = list[i].Parameter;
            offsets[i] = offset;
            Tensor view = ViewOf(values, offset, parameter);
            view.copy_(parameter);
            parameter.set_(view); // the parameter now lives in the flat buffer
            offset += parameter.numel();
        }

        Tensor? masters = masterFloat32 ? values.to(float32, copy: true).DetachFromDisposeScope() : null;
        Tensor expAvg = zeros_like(masters ?? values).DetachFromDisposeScope();
        Tensor expAvgSq = zeros_like(masters ?? values).DetachFromDisposeScope();
        flat = new Flat(values, masters, expAvg, expAvgSq, offsets);
        slots = [.. list.Select((p, i) =>
        {
            Tensor Part(Tensor buffer)
            {
                using var scope = NewDisposeScope(); // narrow's own handle
                return ViewOf(buffer, offsets[i], p.Parameter).DetachFromDisposeScope();
            }

            return new Slot(p.Name, p.Parameter, masters is null ? null : Part(masters), Part(expAvg), Part(expAvgSq));
        })];
    }

    public long StepCount { get; private set; }

    public IEnumerable<Parameter> Parameters => slots.Select(s => s.Parameter);

    public void ZeroGrad()
    {
        using var scope = NewDisposeScope(); // each .grad access, and zero_() itself, makes a new tensor handle
        if (flat?.Gradients is Tensor gradients)
        {
            gradients.zero_();
            return;
        }

        foreach (Slot slot in slots)
        {
            slot.Parameter.grad?.zero_();
        }
    }

    public void Step(double learningRate)
    {
        StepCount++;
        double biasCorrection1 = 1 - Math.Pow(beta1, StepCount);
        double biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, StepCount));
        double stepSize = learningRate / biasCorrection1;
        using var noGrad = no_grad();
        if (flat is not null && (GradientsInBuffer(flat) || FlattenGradients(flat)))
        {
            using var scope = NewDisposeScope();
            Tensor target = flat.Masters ?? flat.Values;
            if (decayAll)
            {
                Decay(target, learningRate);
            }
            else
            {
                for (int i = 0; i < slots.Length; i++)
                {
                    if (decayed[i])
                    {
                        Decay(slots[i].Master ?? slots[i].Parameter, learningRate); // a view of the flat buffer
                    }
                }
            }

            Update(target, flat.Masters is null ? flat.Gradients! : flat.Gradients!.to(float32), flat.ExpAvg, flat.ExpAvgSq,
                stepSize, biasCorrection2Sqrt);
            if (flat.Masters is not null)
            {
                flat.Values.copy_(flat.Masters);
            }

            return;
        }

        for (int i = 0; i < slots.Length; i++)
        {
            Slot slot = slots[i];
            using var scope = NewDisposeScope();
            Tensor? grad = slot.Parameter.grad;
            if (grad is null)
            {
                continue;
            }

            if (decayed[i])
            {
                Decay(slot.Master ?? slot.Parameter, learningRate);
            }

            Update(slot.Master ?? slot.Parameter, slot.Master is null ? grad : grad.to(float32), slot.ExpAvg, slot.ExpAvgSq,
                stepSize, biasCorrection2Sqrt);
            if (slot.Master is not null)
            {
                slot.Parameter.copy_(slot.Master);
            }
        }
    }

    /// <summary>Decoupled weight decay, θ ← θ·(1 − lr·λ), before the moment update as torch.optim.AdamW does it.</summary>
    private void Decay(Tensor target, double learningRate) => target.mul_(1 - (learningRate * weightDecay));

    /// <summary>One AdamW update of <paramref name="target"/> (a parameter, its float32 master, or a flat buffer of them), after its decay.</summary>
    private void Update(Tensor target, Tensor g, Tensor expAvg, Tensor expAvgSq, double stepSize, double biasCorrection2Sqrt)
    {
        expAvg.mul_(beta1).add_(g, alpha: 1 - beta1);                                // m ← β1·m + (1−β1)·g
        expAvgSq.mul_(beta2).addcmul_(g, g, value: 1 - beta2);                       // v ← β2·v + (1−β2)·g²
        Tensor denominator = expAvgSq.sqrt().div_(biasCorrection2Sqrt).add_(epsilon); // one temporary, not two
        target.addcdiv_(expAvg, denominator, value: -stepSize);                     // θ ← θ − lr·m̂/(√v̂ + ε)
    }

    /// <summary>
    /// Moves every parameter's gradient into one flat buffer and makes the gradients views of it (backward then
    /// accumulates into them in place). False, leaving everything as it is, when a parameter has no gradient or
    /// one of another dtype or layout. The views start one element into the buffer, so that no view of it has
    /// storage offset 0 and a gradient backward made anew (offset 0) is told apart by its offset alone.
    /// </summary>
    private bool FlattenGradients(Flat state)
    {
        using var scope = NewDisposeScope();
        Tensor?[] gradients = [.. slots.Select(s => s.Parameter.grad)];
        if (gradients.Any(g => g is null || g.is_sparse || g.dtype != state.Values.dtype || !g.is_contiguous()))
        {
            return false;
        }

        long total = state.Values.numel();
        Tensor buffer = empty(total + 1, dtype: state.Values.dtype, device: state.Values.device);
        for (int i = 0; i < slots.Length; i++)
        {
            Tensor view = ViewOf(buffer, 1 + state.Offsets[i], slots[i].Parameter);
            view.copy_(gradients[i]!);
            slots[i].Parameter.grad = view;
        }

        state.Gradients = buffer.narrow(0, 1, total).DetachFromDisposeScope(); // the views keep the storage alive
        return true;
    }

    /// <summary>The part of a flat buffer that holds <paramref name="parameter"/>, shaped like it.</summary>
    private static Tensor ViewOf(Tensor buffer, long offset, Parameter parameter) =>
        buffer.narrow(0, offset, parameter.numel()).view(parameter.shape);

    /// <summary>True when every parameter's gradient is still its view of the flat gradient buffer.</summary>
    private bool GradientsInBuffer(Flat state)
    {
        if (state.Gradients is null)
        {
            return false;
        }

        using var scope = NewDisposeScope(); // each .grad access makes a new handle
        for (int i = 0; i < slots.Length; i++)
        {
            Tensor? grad = slots[i].Parameter.grad;
            if (grad is null || grad.storage_offset() != 1 + state.Offsets[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Float32 master weights by parameter name (bf16 training), else the parameters themselves.</summary>
    public IEnumerable<(string Name, Tensor Weight)> MasterWeights => slots.Select(s => (s.Name, s.Master ?? (Tensor)s.Parameter));

    public void AddStateTo(IDictionary<string, Tensor> tensors, string prefix)
    {
        foreach (Slot slot in slots)
        {
            tensors[$"{prefix}exp_avg.{slot.Name}"] = slot.ExpAvg;
            tensors[$"{prefix}exp_avg_sq.{slot.Name}"] = slot.ExpAvgSq;
            if (slot.Master is not null)
            {
                tensors[$"{prefix}master.{slot.Name}"] = slot.Master;
            }
        }
    }

    /// <summary>
    /// Loads the state <see cref="AddStateTo"/> wrote. Every tensor is checked (present, same shape) before any is
    /// copied, so a refused state leaves the optimizer as it was.
    /// </summary>
    /// <exception cref="InvalidDataException">A tensor is missing or has another shape; the message names it and <paramref name="path"/>.</exception>
    /// <param name="tensors">The checkpoint's tensors.</param>
    /// <param name="prefix">The optimizer's prefix in them.</param>
    /// <param name="stepCount">The step count to continue from.</param>
    /// <param name="path">The checkpoint, for messages.</param>
    /// <param name="weightsPrefix">Where the checkpoint keeps the weights: a float32 master that the checkpoint lacks (it was
    /// written by a float32 run) starts from those weights at the parameter's precision.</param>
    public void LoadStateFrom(IReadOnlyDictionary<string, Tensor> tensors, string prefix, long stepCount, string path, string weightsPrefix)
    {
        using var scope = NewDisposeScope(); // the precision casts below
        var copies = new List<(Tensor Destination, Tensor Source)>();
        foreach (Slot slot in slots)
        {
            copies.Add((slot.ExpAvg, Source(slot.ExpAvg, $"{prefix}exp_avg.{slot.Name}")));
            copies.Add((slot.ExpAvgSq, Source(slot.ExpAvgSq, $"{prefix}exp_avg_sq.{slot.Name}")));
            if (slot.Master is not null)
            {
                copies.Add(tensors.ContainsKey($"{prefix}master.{slot.Name}")
                    ? (slot.Master, Source(slot.Master, $"{prefix}master.{slot.Name}"))
                    : (slot.Master, Source(slot.Master, weightsPrefix + slot.Name).to(slot.Parameter.dtype)));
            }
        }

        using var noGrad = no_grad();
        foreach ((Tensor destination, Tensor source) in copies)
        {
            destination.copy_(source);
        }

        StepCount = stepCount;

        Tensor Source(Tensor destination, string key)
        {
            if (!tensors.TryGetValue(key, out Tensor? source) || !source.shape.SequenceEqual(destination.shape))
            {
                throw new InvalidDataException($"{path}: the checkpoint's optimizer state lacks '{key}' with shape [{string.Join(',', destination.shape)}].");
            }

            return source;
        }
    }

    public void Dispose()
    {
        flat?.Dispose();
        foreach (Slot slot in slots)
        {
            slot.ExpAvg.Dispose();
            slot.ExpAvgSq.Dispose();
            slot.Master?.Dispose();
        }
    }

    private sealed record Slot(string Name, Parameter Parameter, Tensor? Master, Tensor ExpAvg, Tensor ExpAvgSq);

    /// <summary>The flat buffers behind the slots' views: parameters, float32 masters, moments, gradients.</summary>
    private sealed class Flat(Tensor values, Tensor? masters, Tensor expAvg, Tensor expAvgSq, long[] offsets) : IDisposable
    {
        public Tensor Values { get; } = values;

        public Tensor? Masters { get; } = masters;

        public Tensor ExpAvg { get; } = expAvg;

        public Tensor ExpAvgSq { get; } = expAvgSq;

        public long[] Offsets { get; } = offsets;

        /// <summary>The gradients, all of them (their buffer without its first, unused element); null until the first step.</summary>
        public Tensor? Gradients
        {
            get;
            set
            {
                field?.Dispose();
                field = value;
            }
        }

        public void Dispose()
        {
            // The parameters and their gradients keep the storage alive through their views.
            Values.Dispose();
            Masters?.Dispose();
            ExpAvg.Dispose();
            ExpAvgSq.Dispose();
            Gradients?.Dispose();
        }
    }
}
