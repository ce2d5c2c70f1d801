using Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks.Workloads;

/// <summary>
/// A <see cref="UNet2DConditionModel"/> with fixed text-encoder states, in the (sample, timesteps) call shape the
/// workloads time: <c>forward(x, t) = unet(x, t, text)</c>. Owns both.
/// </summary>
internal sealed class TextConditionedUNet : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly UNet2DConditionModel unet;
    private Tensor text;

    public TextConditionedUNet(UNet2DConditionModel unet, Tensor text)
        : base(nameof(TextConditionedUNet))
    {
        this.unet = unet;
        this.text = text.DetachFromDisposeScope();
        RegisterComponents();
    }

    public override Tensor forward(Tensor sample, Tensor timesteps)
    {
        if (text.device_type != sample.device_type || text.dtype != sample.dtype)
        {
            Tensor moved = text.to(sample.device).to(sample.dtype).DetachFromDisposeScope();
            text.Dispose();
            text = moved;
        }

        return unet.call(sample, timesteps, text);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            text.Dispose();
        }

        base.Dispose(disposing);
    }
}
