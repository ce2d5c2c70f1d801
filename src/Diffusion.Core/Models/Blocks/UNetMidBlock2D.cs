using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>UNetMidBlock2D</c> (<c>src/diffusers/models/unets/unet_2d_blocks.py</c>): a residual block, then
/// <c>numLayers</c> × (self-attention, residual block), all at the bottleneck width. Keys: <c>attentions.i.*</c>
/// (none when attention is off), <c>resnets.i.*</c>. The VAE's encoder and decoder use the same block.
/// </summary>
internal sealed class UNetMidBlock2D : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly ModuleList<Attention> attentions;
    private readonly ModuleList<ResnetBlock2D> resnets;

    /// <summary>Creates the block.</summary>
    /// <param name="channels">The bottleneck width (input and output).</param>
    /// <param name="settings">The residual blocks' settings; their output scale factor is diffusers' <c>mid_block_scale_factor</c>.</param>
    /// <param name="attentionHeadDim">Head width of the attentions; null means one head of <paramref name="channels"/>.</param>
    /// <param name="attentionGroups">Groups of the attentions' GroupNorm; null means none.</param>
    /// <param name="addAttention">Whether the attentions exist.</param>
    /// <param name="numLayers">Attention + residual pairs after the first residual block.</param>
    public UNetMidBlock2D(int channels, ResnetSettings settings, int? attentionHeadDim, int? attentionGroups, bool addAttention, int numLayers = 1)
        : base(nameof(UNetMidBlock2D))
    {
        var blocks = new List<ResnetBlock2D> { settings.Resnet(channels, channels) };
        var attends = new List<Attention>();
        for (int i = 0; i < numLayers; i++)
        {
            if (addAttention)
            {
                attends.Add(settings.SpatialAttention(channels, attentionHeadDim ?? channels, attentionGroups));
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
    public override Tensor forward(Tensor x, Tensor? temb)
    {
        using var scope = NewDisposeScope();
        x = resnets[0].call(x, temb);
        for (int i = 1; i < resnets.Count; i++)
        {
            if (attentions.Count > 0)
            {
                x = attentions[i - 1].call(x, null);
            }

            x = resnets[i].call(x, temb);
        }

        return x.MoveToOuterDisposeScope();
    }
}
