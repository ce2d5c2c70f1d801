using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// What every down and up block of diffusers' U-Nets and VAE is (<c>src/diffusers/models/unets/unet_2d_blocks.py</c>:
/// <c>DownBlock2D</c>, <c>AttnDownBlock2D</c>, <c>CrossAttnDownBlock2D</c>, <c>DownEncoderBlock2D</c> and their <c>Up</c>
/// counterparts): <c>numLayers</c> residual blocks, each followed by an attention in the attention variants, then an
/// optional resampler. Keys: <c>attentions.i.*</c> (attention variants only), <c>resnets.i.*</c>, then
/// <c>downsamplers.0.*</c> or <c>upsamplers.0.*</c>.
/// </summary>
/// <remarks>
/// <see cref="DownBlock2D"/> and <see cref="UpBlock2D"/> add only what differs: how the channels flow into each residual
/// block, and where the skips go. Without a time embedding and skips (the VAE's <c>DownEncoderBlock2D</c> and
/// <c>UpDecoderBlock2D</c>) a block runs through <see cref="forward"/>.
/// </remarks>
internal abstract class ResnetStackBlock2D : nn.Module<Tensor, Tensor>
{
    // private protected, not private: RegisterComponents reflects over the derived type, which sees the fields it
    // inherits only when they are not private. The derived blocks declare no modules, so these are all the keys, in
    // diffusers' order; the resampler that is not built stays null and is not registered.
    private protected readonly ModuleList<nn.Module>? attentions;
    private protected readonly ModuleList<ResnetBlock2D> resnets;
    private protected readonly ModuleList<nn.Module>? downsamplers;
    private protected readonly ModuleList<nn.Module>? upsamplers;

    /// <summary>Creates the block.</summary>
    /// <param name="name">The module's name.</param>
    /// <param name="numLayers">Residual blocks.</param>
    /// <param name="resnetInChannels">Input channels of residual block i.</param>
    /// <param name="outChannels">Channels of every residual block's output.</param>
    /// <param name="settings">The residual blocks' shared settings.</param>
    /// <param name="attention">Makes the attention of one layer from its channel count (an <see cref="IBlockAttention"/>
    /// module); null for a block without attention.</param>
    /// <param name="direction">Whether the resampler is a downsampler or an upsampler.</param>
    /// <param name="resampler">Makes the resampler, after the layers (so the random initialisation runs in diffusers'
    /// order); null for none (the last level).</param>
    private protected ResnetStackBlock2D(
        string name,
        int numLayers,
        Func<int, int> resnetInChannels,
        int outChannels,
        ResnetSettings settings,
        Func<int, nn.Module>? attention,
        ResnetResample direction,
        Func<nn.Module>? resampler)
        : base(name)
    {
        var blocks = new List<ResnetBlock2D>();
        var attends = new List<nn.Module>();
        for (int i = 0; i < numLayers; i++)
        {
            blocks.Add(settings.Resnet(resnetInChannels(i), outChannels));
            if (attention is not null)
            {
                attends.Add(attention(outChannels));
            }
        }

        attentions = attention is null ? null : nn.ModuleList([.. attends]);
        resnets = nn.ModuleList([.. blocks]);
        ModuleList<nn.Module>? samplers = resampler is null ? null : nn.ModuleList(resampler());
        downsamplers = direction == ResnetResample.Down ? samplers : null;
        upsamplers = direction == ResnetResample.Up ? samplers : null;
        RegisterComponents();
    }

    /// <summary>Residual blocks in the block.</summary>
    private protected int Layers => resnets.Count;

    /// <summary>Whether the block ends with a resampler.</summary>
    private protected bool Resamples => (downsamplers ?? upsamplers) is not null;

    /// <summary>Runs a block made without a time embedding or skips (the VAE's).</summary>
    /// <param name="x">The input, <c>[N, inChannels, H, W]</c>.</param>
    /// <returns>A new tensor <c>[N, outChannels, H', W']</c>, H' = H/2 (down), 2H (up) or H (no resampler); the caller owns it.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        for (int i = 0; i < Layers; i++)
        {
            x = Layer(i, x, null, null, null);                                          // [N, out, H, W]
        }

        return Resample(x, null, null).MoveToOuterDisposeScope();
    }

    /// <summary>Residual block <paramref name="i"/>, then its attention if the block has attentions.</summary>
    /// <param name="i">The layer.</param>
    /// <param name="x">The layer's input, <c>[N, resnetInChannels(i), H, W]</c>.</param>
    /// <param name="temb">The time embedding; null for a block made without one.</param>
    /// <param name="context">The encoder states for cross-attention, <c>[N, S, D]</c>; null for blocks without it.</param>
    /// <param name="contextBias">The additive bias <c>[N, 1, S]</c> on the cross-attention scores; null for none.</param>
    /// <returns>The output, <c>[N, outChannels, H, W]</c>.</returns>
    private protected Tensor Layer(int i, Tensor x, Tensor? temb, Tensor? context, Tensor? contextBias)
    {
        x = resnets[i].call(x, temb);                                                   // [N, out, H, W]
        return attentions is null ? x : ((IBlockAttention)attentions[i]).Attend(x, context, contextBias);
    }

    /// <summary>The resampler, or <paramref name="x"/> itself where the block has none.</summary>
    /// <param name="x">The input, <c>[N, outChannels, H, W]</c>.</param>
    /// <param name="temb">The time embedding (a residual-block resampler uses it); null for a block made without one.</param>
    /// <param name="outputSize">An upsampling convolution's output height and width; null doubles H and W.</param>
    /// <returns>The output, <c>[N, outChannels, H', W']</c>.</returns>
    private protected Tensor Resample(Tensor x, Tensor? temb, long[]? outputSize)
    {
        foreach (nn.Module sampler in (IEnumerable<nn.Module>?)downsamplers ?? upsamplers ?? [])
        {
            x = sampler switch
            {
                ResnetBlock2D resnet => resnet.call(x, temb),
                Downsample2D conv => conv.call(x),
                Upsample2D conv => conv.Forward(x, outputSize),
                _ => throw new InvalidOperationException($"unexpected resampler {sampler.GetType().Name}."),
            };
        }

        return x;
    }

    /// <summary>The resampler <paramref name="type"/> names: <paramref name="convolution"/>, a residual block that
    /// resamples inside itself, or none.</summary>
    /// <param name="type">The resampler's kind; null for none.</param>
    /// <param name="direction">Down or up.</param>
    /// <param name="settings">The residual block's settings.</param>
    /// <param name="channels">The resampler's input and output channels.</param>
    /// <param name="convolution">Makes the convolutional resampler.</param>
    /// <returns>The factory; null for none.</returns>
    private protected static Func<nn.Module>? Resampler(
        ResampleType? type, ResnetResample direction, ResnetSettings settings, int channels, Func<nn.Module> convolution) => type switch
    {
        ResampleType.Conv => convolution,
        ResampleType.Resnet => () => settings.Resnet(channels, channels, direction),
        _ => null,
    };
}
