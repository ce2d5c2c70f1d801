using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>UNetMidBlock2D</c> and <c>UNetMidBlock2DCrossAttn</c> (<c>src/diffusers/models/unets/unet_2d_blocks.py</c>):
/// a residual block, then <c>numLayers</c> × (attention, residual block), all at the bottleneck width; the attention is
/// a feature-map self-attention, or a <see cref="Transformer2DModel"/> with cross-attention. Keys: <c>attentions.i.*</c>
/// (none when attention is off), <c>resnets.i.*</c>. The VAE's encoder and decoder use the same block.
/// </summary>
internal sealed class UNetMidBlock2D : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly ModuleList<nn.Module> attentions;
    private readonly ModuleList<ResnetBlock2D> resnets;

    /// <summary>Creates the block with the attentions <paramref name="attention"/> makes.</summary>
    /// <param name="channels">The bottleneck width (input and output).</param>
    /// <param name="settings">The residual blocks' settings; their output scale factor is diffusers' <c>mid_block_scale_factor</c>.</param>
    /// <param name="attention">Makes one attention (an <see cref="IBlockAttention"/> module) from the channel count; null for none.</param>
    /// <param name="numLayers">Attention + residual pairs after the first residual block.</param>
    public UNetMidBlock2D(int channels, ResnetSettings settings, Func<int, nn.Module>? attention, int numLayers = 1)
        : base(nameof(UNetMidBlock2D))
    {
        var blocks = new List<ResnetBlock2D> { settings.Resnet(channels, channels) };
        var attends = new List<nn.Module>();
        for (int i = 0; i < numLayers; i++)
        {
            if (attention is not null)
            {
                attends.Add(attention(channels));
            }

            blocks.Add(settings.Resnet(channels, channels));
        }

        attentions = nn.ModuleList([.. attends]);
        resnets = nn.ModuleList([.. blocks]);
        RegisterComponents();
    }

    /// <summary>Runs the block.</summary>
    /// <param name="x">The input, <c>[N, channels, H, W]</c>.</param>
    /// <param name="temb">The time embedding (null for a block made without one).</param>
    /// <returns>A new tensor <c>[N, channels, H, W]</c>; the caller owns it.</returns>
    public override Tensor forward(Tensor x, Tensor? temb) => Forward(x, temb, null, null);

    /// <summary>Runs the block with cross-attention.</summary>
    /// <param name="x">The input, <c>[N, channels, H, W]</c>.</param>
    /// <param name="temb">The time embedding (null for a block made without one).</param>
    /// <param name="context">The encoder states <c>[N, S, D]</c>; null for self-attention blocks.</param>
    /// <param name="contextBias">The additive bias <c>[N, 1, S]</c> on the cross-attention scores; null for none.</param>
    /// <returns>A new tensor <c>[N, channels, H, W]</c>; the caller owns it.</returns>
    public Tensor Forward(Tensor x, Tensor? temb, Tensor? context, Tensor? contextBias)
    {
        using var scope = NewDisposeScope();
        x = resnets[0].call(x, temb);
        for (int i = 1; i < resnets.Count; i++)
        {
            if (attentions.Count > 0)
            {
                x = ((IBlockAttention)attentions[i - 1]).Attend(x, context, contextBias);
            }

            x = resnets[i].call(x, temb);
        }

        return x.MoveToOuterDisposeScope();
    }
}
