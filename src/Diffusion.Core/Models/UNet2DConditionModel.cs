using Diffusion.Models.Blocks;
using TorchSharp.Modules;

namespace Diffusion.Models;

/// <summary>
/// diffusers' <c>UNet2DConditionModel</c> (<c>src/diffusers/models/unets/unet_2d_condition.py</c>), layer for layer and
/// with its state-dict key names: the text-conditioned latent U-Net of Stable Diffusion 1.x and 2.x
/// (<c>stable-diffusion-v1-5/stable-diffusion-v1-5</c>, <c>stabilityai/stable-diffusion-2-1-base</c>: their
/// <c>unet/</c> folder). Given noisy latents, timesteps and text-encoder states it predicts the noise (or v).
/// </summary>
/// <remarks>
/// <code>
/// temb = time_embedding(time_proj(t))                                      // [N, 4·c0]
/// bias = (1 − mask) · −10000, per key token                                // only with an encoder attention mask
/// x = conv_in(sample); skips = [x]                                         // [N, c0, H, W]
/// for each down block: x = block(x, temb, text, bias), adding its skips   // resnets (+ transformers); halves H, W but the last
/// x = mid_block(x, temb, text, bias)                                       // resnet, transformer, resnet
/// for each up block: x = block(x, its skips, temb, text, bias)             // doubles H, W but the last
/// out = conv_out(act(conv_norm_out(x)))                                    // [N, out_channels, H, W]
/// </code>
/// Every transformer is a <c>Transformer2DModel</c> of <c>BasicTransformerBlock</c>s: self-attention, cross-attention to
/// the text states and a GEGLU feed-forward, each behind a LayerNorm, attention through
/// <c>scaled_dot_product_attention</c>. Load a diffusers folder with <see cref="FromPretrained"/>, write one with
/// <see cref="SavePretrained"/>. Move the model with <c>to(device)</c>, cast it with <c>to(ScalarType.BFloat16)</c>;
/// inputs must then have the same device and dtype.
/// </remarks>
public sealed partial class UNet2DConditionModel : nn.Module<Tensor, Tensor, Tensor, Tensor>, IPretrainedModel
{
    private readonly Timesteps time_proj;
    private readonly Blocks.TimestepEmbedding time_embedding;
    private readonly UNet2DBody body;

    /// <summary>Creates the network with freshly initialised weights (PyTorch's default initialisation).</summary>
    /// <param name="config">The shape; null means diffusers' defaults (<see cref="UNet2DConditionModelConfig"/>: SD 1's U-Net with 1280-wide text states).</param>
    /// <param name="device">Where to put the weights; null keeps them on the CPU.</param>
    /// <param name="dtype">The weights' element type (float32, float16 or bfloat16); null keeps float32.</param>
    /// <exception cref="ArgumentException"><paramref name="config"/> breaks a rule or needs a feature this library does not build
    /// (the message lists every violation), or the dtype is not a floating type this model supports.</exception>
    /// <exception cref="Runtime.TorchRuntimeException">libtorch cannot be loaded.</exception>
    public UNet2DConditionModel(UNet2DConditionModelConfig? config = null, Device? device = null, ScalarType? dtype = null)
        : base(Prepare(config, dtype))
    {
        Config = DiffusersModelConfig.PrivateCopy(config);
        UNet2DConditionModelConfig c = Config;
        IReadOnlyList<int> ch = c.BlockOutChannels;
        int levels = ch.Count, groups = c.NormNumGroups!.Value, tembDim = c.TimeEmbedDim;
        static T At<T>(IReadOnlyList<T> values, int level) => UNet2DConditionModelConfig.At(values, level);

        Conv2d convIn = nn.Conv2d(c.InChannels, ch[0], c.ConvInKernel, padding: (c.ConvInKernel - 1) / 2); // built first, in diffusers' order
        time_proj = new Timesteps(ch[0], c.FlipSinToCos, c.FreqShift);
        time_embedding = new Blocks.TimestepEmbedding(ch[0], tembDim, c.ActFn);

        var settings = new ResnetSettings(tembDim, groups, c.NormEps, c.ActFn, c.ResnetTimeScaleShift, c.Dropout);

        // A level's transformer: heads = attention_head_dim[level] (diffusers' num_attention_heads fallback).
        Func<int, nn.Module> Transformer(int level, bool onlyCross) => channels =>
            new Transformer2DModel(channels, At(c.AttentionHeadDim, level), At(c.TransformerLayersPerBlock, level), At(c.CrossAttentionDim, level),
                groups, c.UseLinearProjection, onlyCross, c.UpcastAttention);

        var down = new DownBlock2D[levels];
        foreach (UNetBlockChannels b in UNet2DBody.DownPlan(ch))
        {
            down[b.Index] = new DownBlock2D(
                At(c.LayersPerBlock, b.Level), b.InChannels, b.OutChannels, settings,
                c.DownAttends(b.Index) ? Transformer(b.Level, At(c.OnlyCrossAttention, b.Level)) : null,
                b.IsLast ? null : ResampleType.Conv, c.DownsamplePadding);
        }

        // diffusers does not pass only_cross_attention to UNetMidBlock2DCrossAttn.
        UNetMidBlock2D? midBlock = c.MidBlockType is null
            ? null
            : new UNetMidBlock2D(ch[^1], settings with { OutputScaleFactor = c.MidBlockScaleFactor }, Transformer(levels - 1, false));

        var up = new UpBlock2D[levels];
        foreach (UNetBlockChannels b in UNet2DBody.UpPlan(ch))                          // per-level lists read at b.Level, reversed
        {
            up[b.Index] = new UpBlock2D(
                At(c.LayersPerBlock, b.Level) + 1, b.InChannels, b.PrevOutputChannels, b.OutChannels, settings,
                c.UpAttends(b.Index) ? Transformer(b.Level, At(c.OnlyCrossAttention, b.Level)) : null,
                b.IsLast ? null : ResampleType.Conv);
        }

        body = new UNet2DBody(
            this,
            convIn,
            [("time_proj", time_proj), ("time_embedding", time_embedding)],
            down,
            midBlock,
            up,
            Layers.GroupNorm(groups, ch[0], c.NormEps),
            Layers.Activation(c.ActFn),
            nn.Conv2d(ch[0], c.OutChannels, c.ConvOutKernel, padding: (c.ConvOutKernel - 1) / 2));
        Internal.ModelInputs.Place(this, device, dtype);
    }

    /// <summary>The configuration this network was built with (a copy: later changes to the caller's lists do not show here).</summary>
    public UNet2DConditionModelConfig Config { get; }

    /// <summary>The weights' element type.</summary>
    public ScalarType DType => body.FirstWeight.dtype;

    /// <summary>The weights' device.</summary>
    public Device Device => body.FirstWeight.device;

    /// <summary>Channels of the input latents (<c>in_channels</c>: 4 for Stable Diffusion).</summary>
    public int InChannels => Config.InChannels;

    /// <summary>Width of the encoder states the model attends to (<c>cross_attention_dim</c>: 768 for SD 1, 1024 for SD 2).</summary>
    public int CrossAttentionDim => Config.CrossAttentionDim[0];

    /// <summary>Predicts the noise (or v) in <paramref name="sample"/> at <paramref name="timestep"/>, conditioned on
    /// <paramref name="encoderHiddenStates"/>.</summary>
    /// <param name="sample">Noisy latents <c>[N, InChannels, H, W]</c> of the weights' dtype and device (any positive
    /// H and W; sizes that are not multiples of 2^(levels−1) are upsampled to the skips' sizes, as diffusers does).</param>
    /// <param name="timestep">An integer or floating tensor: 0-d, one element, or <c>[N]</c>. Floating values stay
    /// fractional, as in diffusers. Moved to the sample's device.</param>
    /// <param name="encoderHiddenStates">Text-encoder states <c>[N, S, CrossAttentionDim]</c> of the weights' dtype and device.</param>
    /// <returns>A new tensor <c>[N, OutChannels, H, W]</c> of the sample's dtype; the caller owns it.</returns>
    /// <exception cref="ArgumentException">An argument's shape, dtype or device is not as described (the message names it).</exception>
    public override Tensor forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates) => Forward(sample, timestep, encoderHiddenStates, null);

    /// <summary>Predicts at a timestep given as a number, kept fractional as diffusers keeps a Python float.</summary>
    /// <param name="sample">Noisy latents, as for <see cref="forward(Tensor, Tensor, Tensor)"/>.</param>
    /// <param name="timestep">The timestep, for the whole batch.</param>
    /// <param name="encoderHiddenStates">Text-encoder states, as for <see cref="forward(Tensor, Tensor, Tensor)"/>.</param>
    /// <returns>A new tensor <c>[N, OutChannels, H, W]</c>; the caller owns it.</returns>
    /// <exception cref="ArgumentException">An argument is not as described.</exception>
    public Tensor Forward(Tensor sample, double timestep, Tensor encoderHiddenStates) => Forward(sample, timestep, encoderHiddenStates, null);

    /// <summary>Predicts at a timestep given as a number (kept fractional), with an encoder attention mask.</summary>
    /// <param name="sample">Noisy latents, as for <see cref="forward(Tensor, Tensor, Tensor)"/>.</param>
    /// <param name="timestep">The timestep, for the whole batch.</param>
    /// <param name="encoderHiddenStates">Text-encoder states, as for <see cref="forward(Tensor, Tensor, Tensor)"/>.</param>
    /// <param name="encoderAttentionMask">Null, or a mask <c>[N, S]</c> as for <see cref="Forward(Tensor, Tensor, Tensor, Tensor?)"/>.</param>
    /// <returns>A new tensor <c>[N, OutChannels, H, W]</c>; the caller owns it.</returns>
    /// <exception cref="ArgumentException">An argument is not as described.</exception>
    public Tensor Forward(Tensor sample, double timestep, Tensor encoderHiddenStates, Tensor? encoderAttentionMask)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (!double.IsFinite(timestep))
        {
            throw new ArgumentOutOfRangeException(nameof(timestep), timestep, $"timestep must be a finite number; got {timestep}.");
        }

        using Tensor t = tensor(new[] { timestep }, ScalarType.Float64, sample.device); // torch.tensor([t], dtype=torch.float64)
        return Forward(sample, t, encoderHiddenStates, encoderAttentionMask);
    }

    /// <summary>Predicts with an encoder attention mask: text positions whose mask is 0 are left out of every
    /// cross-attention (diffusers adds −10000 to their scores).</summary>
    /// <param name="sample">Noisy latents, as for <see cref="forward(Tensor, Tensor, Tensor)"/>.</param>
    /// <param name="timestep">The timesteps, as for <see cref="forward(Tensor, Tensor, Tensor)"/>.</param>
    /// <param name="encoderHiddenStates">Text-encoder states <c>[N, S, CrossAttentionDim]</c>.</param>
    /// <param name="encoderAttentionMask">Null for none, or <c>[N, S]</c> of 1 (keep) and 0 (drop): bool, integer or floating,
    /// on any device.</param>
    /// <returns>A new tensor <c>[N, OutChannels, H, W]</c> of the sample's dtype; the caller owns it.</returns>
    /// <exception cref="ArgumentException">An argument's shape, dtype or device is not as described (the message names it).</exception>
    public Tensor Forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates, Tensor? encoderAttentionMask)
    {
        ValidateInputs(sample, timestep, encoderHiddenStates, encoderAttentionMask);
        using var scope = NewDisposeScope();
        ScalarType dtype = DType;

        // The mask as an additive bias on the attention scores: keep → 0, drop → −10000; [N, 1, S].
        Tensor? bias = encoderAttentionMask is null
            ? null
            : ((1 - encoderAttentionMask.to(sample.device).to(dtype)) * -10000.0).unsqueeze(1);

        // 0. centre the input
        if (Config.CenterInputSample)
        {
            sample = 2 * sample - 1.0;
        }

        // 1. time: [N] timesteps → [N, 4·c0] (the sinusoidal projection in float32, the MLP in the weights' dtype)
        Tensor t = UNet2DBody.BatchTimesteps(timestep, sample);                         // [N]
        Tensor emb = time_embedding.call(time_proj.call(t).to(dtype));

        // 2.–6. conv_in, down, mid, up (cross-attending to the text states), conv_out
        Tensor x = body.Forward(sample, emb, encoderHiddenStates, bias);              // [N, OutChannels, H, W]
        return x.MoveToOuterDisposeScope();
    }

    private static string Prepare(UNet2DConditionModelConfig? config, ScalarType? dtype) =>
        Internal.ModelInputs.BeforeConstruction(() => (config ?? new UNet2DConditionModelConfig()).Validate(), dtype,
            [ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16], nameof(UNet2DConditionModel));
}
