using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>Whether a <see cref="ResnetBlock2D"/> changes resolution inside itself (diffusers' <c>up</c> / <c>down</c>).</summary>
internal enum ResnetResample
{
    /// <summary>Same resolution.</summary>
    None,

    /// <summary>Nearest-neighbour ×2 after the first norm and activation (and on the shortcut).</summary>
    Up,

    /// <summary>2×2 average pooling after the first norm and activation (and on the shortcut).</summary>
    Down,
}

/// <summary>
/// diffusers' <c>ResnetBlock2D</c> (<c>src/diffusers/models/resnet.py</c>), pre-norm, with its key names:
/// <c>norm1</c>, <c>conv1</c>, <c>time_emb_proj</c>, <c>norm2</c>, <c>conv2</c>, <c>conv_shortcut</c>.
/// </summary>
/// <remarks>
/// <code>
/// h = conv1(resample(act(norm1(x))))                      // [N, out, H', W']
/// t = time_emb_proj(act(temb))[:, :, None, None]           // [N, out] or [N, 2·out] (scale_shift)
/// default:     h = norm2(h + t)
/// scale_shift: h = norm2(h) · (1 + scale) + shift          // (scale, shift) = chunk(t, 2)
/// h = conv2(dropout(act(h)))
/// out = (shortcut(resample(x)) + h) / output_scale_factor   // shortcut: 1×1 conv when channels change
/// </code>
/// The U-Nets, the VAE (no time embedding) and the Stable Diffusion U-Net all use this block.
/// </remarks>
internal sealed class ResnetBlock2D : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly Linear? time_emb_proj;
    private readonly GroupNorm norm2;
    private readonly Dropout dropout;
    private readonly Conv2d conv2;
    private readonly nn.Module<Tensor, Tensor> nonlinearity;
    private readonly nn.Module<Tensor, Tensor>? upsample;
    private readonly nn.Module<Tensor, Tensor>? downsample;
    private readonly Conv2d? conv_shortcut;
    private readonly ResnetTimeScaleShift timeEmbeddingNorm;
    private readonly double outputScaleFactor;

    /// <summary>Creates the block; the parameters are diffusers' constructor arguments.</summary>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of the output.</param>
    /// <param name="tembChannels">Width of the time embedding, or null for a block without one (the VAE's).</param>
    /// <param name="groups">Groups of <c>norm1</c>.</param>
    /// <param name="groupsOut">Groups of <c>norm2</c>; null takes <paramref name="groups"/>.</param>
    /// <param name="eps">Both norms' epsilon.</param>
    /// <param name="dropoutRate">Dropout before <c>conv2</c> (active in training mode only).</param>
    /// <param name="activation">The nonlinearity (diffusers' <c>non_linearity</c>).</param>
    /// <param name="timeEmbeddingNorm">How the time embedding is applied.</param>
    /// <param name="outputScaleFactor">The sum is divided by it.</param>
    /// <param name="resample">Up- or downsampling inside the block.</param>
    /// <param name="useInShortcut">Whether the shortcut has a 1×1 convolution; null: when the channel count changes.</param>
    public ResnetBlock2D(
        int inChannels,
        int outChannels,
        int? tembChannels,
        int groups = 32,
        int? groupsOut = null,
        double eps = 1e-6,
        double dropoutRate = 0.0,
        ActivationFunction activation = ActivationFunction.Silu,
        ResnetTimeScaleShift timeEmbeddingNorm = ResnetTimeScaleShift.Default,
        double outputScaleFactor = 1.0,
        ResnetResample resample = ResnetResample.None,
        bool? useInShortcut = null)
        : base(nameof(ResnetBlock2D))
    {
        this.timeEmbeddingNorm = timeEmbeddingNorm;
        this.outputScaleFactor = outputScaleFactor;
        norm1 = Layers.GroupNorm(groups, inChannels, eps);
        conv1 = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        if (tembChannels is { } temb)
        {
            time_emb_proj = nn.Linear(temb, timeEmbeddingNorm == ResnetTimeScaleShift.ScaleShift ? 2 * outChannels : outChannels);
        }

        norm2 = Layers.GroupNorm(groupsOut ?? groups, outChannels, eps);
        dropout = nn.Dropout(dropoutRate);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, padding: 1);
        nonlinearity = Layers.Activation(activation);
        if (resample == ResnetResample.Up)
        {
            upsample = new Upsample2D(inChannels, useConv: false);
        }
        else if (resample == ResnetResample.Down)
        {
            downsample = new Downsample2D(inChannels, useConv: false);
        }

        if (useInShortcut ?? inChannels != outChannels)
        {
            conv_shortcut = nn.Conv2d(inChannels, outChannels, 1);
        }

        RegisterComponents();
    }

    /// <summary>Runs the block.</summary>
    /// <param name="x">The input, <c>[N, inChannels, H, W]</c>.</param>
    /// <param name="temb">The time embedding <c>[N, tembChannels]</c>; null only for a block made without one.</param>
    /// <returns>A new tensor <c>[N, outChannels, H', W']</c>; the caller owns it.</returns>
    public override Tensor forward(Tensor x, Tensor? temb)
    {
        using var scope = NewDisposeScope();
        Tensor input = x;
        Tensor h = nonlinearity.call(norm1.call(x));                                   // [N, in, H, W]
        if (upsample is not null)
        {
            input = upsample.call(input);                                               // [N, in, 2H, 2W]
            h = upsample.call(h);
        }
        else if (downsample is not null)
        {
            input = downsample.call(input);                                             // [N, in, H/2, W/2]
            h = downsample.call(h);
        }

        h = conv1.call(h);                                                              // [N, out, H', W']
        Tensor? t = null;
        if (time_emb_proj is not null)
        {
            if (temb is null)
            {
                throw new ArgumentNullException(nameof(temb), "this block was made with a time embedding; temb must not be null.");
            }

            t = time_emb_proj.call(nonlinearity.call(temb)).unsqueeze(-1).unsqueeze(-1); // [N, out or 2·out, 1, 1]
        }

        if (timeEmbeddingNorm == ResnetTimeScaleShift.ScaleShift && t is not null)
        {
            Tensor[] scaleShift = t.chunk(2, dim: 1);                                   // 2 × [N, out, 1, 1]
            h = norm2.call(h) * (scaleShift[0] + 1) + scaleShift[1];
        }
        else
        {
            h = norm2.call(t is null ? h : h.add_(t));                                  // in place on conv1's fresh output
        }

        h = conv2.call(dropout.call(nonlinearity.call(h)));                             // [N, out, H', W']
        if (conv_shortcut is not null)
        {
            input = conv_shortcut.call(input);
        }

        // In place on conv2's fresh output (a convolution's backward needs its input and weight, never its output).
        Tensor output = h.add_(input);
        if (outputScaleFactor != 1.0)
        {
            output = output.div_(outputScaleFactor);
        }

        return output.MoveToOuterDisposeScope();
    }
}
