namespace Diffusion.Models.Blocks;

/// <summary>
/// What the residual blocks and attentions of one U-Net share (diffusers passes them to every block as
/// <c>temb_channels</c>, <c>resnet_groups</c>, <c>resnet_eps</c>, <c>resnet_act_fn</c>,
/// <c>resnet_time_scale_shift</c>, <c>dropout</c> and <c>output_scale_factor</c>).
/// </summary>
/// <param name="TembChannels">Width of the time embedding; null for blocks without one (the VAE's).</param>
/// <param name="Groups">GroupNorm groups.</param>
/// <param name="Eps">GroupNorm epsilon.</param>
/// <param name="Activation">The residual blocks' nonlinearity.</param>
/// <param name="TimeScaleShift">How the time embedding is applied.</param>
/// <param name="Dropout">Dropout inside the residual blocks.</param>
/// <param name="OutputScaleFactor">Residual blocks and attentions divide their output by it.</param>
internal sealed record ResnetSettings(
    int? TembChannels,
    int Groups,
    double Eps,
    ActivationFunction Activation,
    ResnetTimeScaleShift TimeScaleShift,
    double Dropout,
    double OutputScaleFactor = 1.0)
{
    /// <summary>A residual block with these settings.</summary>
    public ResnetBlock2D Resnet(int inChannels, int outChannels, ResnetResample resample = ResnetResample.None) =>
        new(inChannels, outChannels, TembChannels, Groups, null, Eps, Dropout, Activation, TimeScaleShift, OutputScaleFactor, resample);

    /// <summary>The feature-map self-attention of diffusers' U-Net blocks: <c>channels / headDim</c> heads of
    /// <c>headDim</c>, biased projections, a GroupNorm of <paramref name="normGroups"/> groups (none when null), the residual.</summary>
    public Attention SpatialAttention(int channels, int headDim, int? normGroups) =>
        new(channels, heads: channels / headDim, dimHead: headDim, bias: true, normNumGroups: normGroups, eps: Eps,
            rescaleOutputFactor: OutputScaleFactor, residualConnection: true);

    /// <summary>What a block needs to make its <see cref="SpatialAttention"/>s from their channel count: heads of
    /// <paramref name="headDim"/> (diffusers' <c>attention_head_dim</c>; null means one head of the channels), or null
    /// (no attention) when <paramref name="addAttention"/> is false.</summary>
    public Func<int, nn.Module>? SpatialAttentions(bool addAttention, int? headDim, int? normGroups) =>
        addAttention ? channels => SpatialAttention(channels, headDim ?? channels, normGroups) : null;
}
