using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter) exactly as torch.optim.AdamW's single-tensor path computes it, with its
/// state as named tensors so that checkpoints hold it in safetensors. With <c>masterFloat32</c> the
/// update runs on float32 copies of low-precision parameters (bf16 training).
/// </summary>
internal sealed class AdamWOptimizer : IDisposable
{
    private readonly Slot[] slots;
    private readonly double beta1;
    private readonly double beta2;
    private readonly double epsilon;
    private readonly double weightDecay;

    public AdamWOptimizer(IEnumerable<(string Name, Parameter Parameter)> parameters, double beta1, double beta2, double epsilon, double weightDecay, bool masterFloat32)
    {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.weightDecay = weightDecay;
        using var noGrad = no_grad();
        slots = [.. parameters.Select(p =>
        {
            Tensor? master = masterFloat32 ? p.Parameter.detach().to(float32).clone().DetachFromDisposeScope() : null;
            Tensor like = master ?? p.Parameter;
            return new Slot(p.Name, p.Parameter, master, zeros_like(like).DetachFromDisposeScope(), zeros_like(like).DetachFromDisposeScope());
        })];
    }

    /// <summary>Optimizer steps taken (PyTorch's per-parameter <c>step</c>, shared here).</summary>
    public long StepCount { get; private set; }

    public IEnumerable<Parameter> Parameters => slots.Select(s => s.Parameter);

    public void ZeroGrad()
    {
        using var scope = NewDisposeScope(); // each .grad access makes a new tensor handle
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
        foreach (Slot slot in slots)
        {
            using var scope = NewDisposeScope();
            Tensor? grad = slot.Parameter.grad;
            if (grad is null)
            {
                continue;
            }

            Tensor target = slot.Master ?? slot.Parameter;
            Tensor g = slot.Master is null ? grad : grad.to(float32);
            target.mul_(1 - (learningRate * weightDecay));                         // decoupled weight decay
            slot.ExpAvg.mul_(beta1).add_(g, alpha: 1 - beta1);                      // m ← β1·m + (1−β1)·g
            slot.ExpAvgSq.mul_(beta2).addcmul_(g, g, value: 1 - beta2);             // v ← β2·v + (1−β2)·g²
            Tensor denominator = slot.ExpAvgSq.sqrt().div_(biasCorrection2Sqrt).add_(epsilon); // one temporary, not two
            target.addcdiv_(slot.ExpAvg, denominator, value: -stepSize);           // θ ← θ − lr·m̂/(√v̂ + ε)
            if (slot.Master is not null)
            {
                slot.Parameter.copy_(slot.Master);
            }
        }
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

    public void LoadStateFrom(IReadOnlyDictionary<string, Tensor> tensors, string prefix, long stepCount, string path)
    {
        using var noGrad = no_grad();
        foreach (Slot slot in slots)
        {
            CopyInto(slot.ExpAvg, $"{prefix}exp_avg.{slot.Name}");
            CopyInto(slot.ExpAvgSq, $"{prefix}exp_avg_sq.{slot.Name}");
            if (slot.Master is not null)
            {
                if (tensors.ContainsKey($"{prefix}master.{slot.Name}"))
                {
                    CopyInto(slot.Master, $"{prefix}master.{slot.Name}");
                }
                else
                {
                    slot.Master.copy_(slot.Parameter);
                }
            }
        }

        StepCount = stepCount;

        void CopyInto(Tensor destination, string key)
        {
            if (!tensors.TryGetValue(key, out Tensor? source) || !source.shape.SequenceEqual(destination.shape))
            {
                throw new InvalidDataException($"{path}: the checkpoint's optimizer state lacks '{key}' with shape [{string.Join(',', destination.shape)}].");
            }

            destination.copy_(source);
        }
    }

    public void Dispose()
    {
        foreach (Slot slot in slots)
        {
            slot.ExpAvg.Dispose();
            slot.ExpAvgSq.Dispose();
            slot.Master?.Dispose();
        }
    }

    private sealed record Slot(string Name, Parameter Parameter, Tensor? Master, Tensor ExpAvg, Tensor ExpAvgSq);
}
