using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks.Workloads;

/// <summary>
/// Wraps a denoiser and adds up the wall time spent inside it, so that a sampling loop's own cost (scheduler,
/// casts, noise, progress) is the loop's time minus <see cref="Inside"/>, measured in the same run.
/// </summary>
internal sealed class TimedModel : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor, Tensor> inner;

    public TimedModel(nn.Module<Tensor, Tensor, Tensor> inner)
        : base(nameof(TimedModel))
    {
        this.inner = inner;
        RegisterComponents();
    }

    /// <summary>Total time inside the wrapped model's forward (synchronised on CUDA).</summary>
    public TimeSpan Inside { get; private set; }

    /// <summary>Calls made.</summary>
    public int Calls { get; private set; }

    public void Reset()
    {
        Inside = TimeSpan.Zero;
        Calls = 0;
    }

    public override Tensor forward(Tensor sample, Tensor timesteps)
    {
        BenchmarkEnvironment.Synchronize();
        long start = Stopwatch.GetTimestamp();
        Tensor output = inner.call(sample, timesteps);
        BenchmarkEnvironment.Synchronize();
        Inside += Stopwatch.GetElapsedTime(start);
        Calls++;
        return output;
    }
}
