using Diffusion.Models.Blocks;
using Diffusion.Models.Internal;
using Diffusion.Runtime;
using TorchSharp.Modules;

namespace Diffusion.Models;

/// <summary>
/// diffusers' <c>UNet2DModel</c> (<c>src/diffusers/models/unets/unet_2d.py</c>), layer for layer and with its
/// state-dict key names: the pixel-space U-Net of <c>google/ddpm-cifar10-32</c>, <c>google/ddpm-celebahq-256</c>,
/// <c>anton-l/ddpm-ema-flowers-64</c> and models trained with diffusers' <c>train_unconditional.py</c>.
/// Given noisy images and timesteps it predicts the noise (or v, or x0: whatever it was trained on).
/// </summary>
/// <remarks>
/// <code>
/// temb = time_embedding(time_proj(t)) [+ class_embedding(labels)]         // [N, 4·c0]
/// x = conv_in(sample); skips = [x]                                         // [N, c0, H, W]
/// for each down block: x = block(x, temb), adding its skips               // halves H, W except the last
/// x = mid_block(x, temb)                                                   // resnet, attention, resnet
/// for each up block: x = block(x, its skips, temb)                         // doubles H, W except the last
/// out = conv_out(SiLU(conv_norm_out(x)))                                   // [N, out_channels, H, W]
/// fourier time embedding: out = out / t
/// </code>
/// Load a diffusers folder with <see cref="FromPretrained"/>, write one with <see cref="SavePretrained"/>.
/// Move the model with <c>to(device)</c>, cast it with <c>to(ScalarType.BFloat16)</c>; inputs must then have the
/// same device and dtype. The <c>Trainer</c> trains it like any denoiser.
/// </remarks>
public sealed partial class UNet2DModel : nn.Module<Tensor, Tensor, Tensor>, IPretrainedModel
{
    private readonly nn.Module<Tensor, Tensor> time_proj;
    private readonly Blocks.TimestepEmbedding time_embedding;
    private readonly nn.Module<Tensor, Tensor>? class_embedding;
    private readonly UNet2DBody body;

    /// <summary>Creates the network with freshly initialised weights (PyTorch's default initialisation).</summary>
    /// <param name="config">The shape; null means diffusers' defaults (<see cref="UNet2DModelConfig"/>).</param>
    /// <param name="device">Where to put the weights; null keeps them on the CPU.</param>
    /// <param name="dtype">The weights' element type (float32, float16 or bfloat16); null keeps float32.</param>
    /// <exception cref="ArgumentException"><paramref name="config"/> breaks a rule (the message lists every violation), or the dtype is not a floating type this model supports.</exception>
    /// <exception cref="TorchRuntimeException">libtorch cannot be loaded.</exception>
    public UNet2DModel(UNet2DModelConfig? config = null, Device? device = null, ScalarType? dtype = null)
        : base(Prepare(config, dtype))
    {
        Config = DiffusersModelConfig.PrivateCopy(config);
        UNet2DModelConfig c = Config;
        IReadOnlyList<int> channels = c.BlockOutChannels;
        int levels = channels.Count;
        int tembDim = c.TimeEmbedDim;

        Conv2d convIn = nn.Conv2d(c.InChannels, channels[0], 3, padding: 1); // built first, in diffusers' order of construction
        (time_proj, int timestepInputDim) = c.TimeEmbeddingType switch
        {
            TimeEmbeddingType.Fourier => ((nn.Module<Tensor, Tensor>)new GaussianFourierProjection(channels[0], scale: 16), 2 * channels[0]),
            TimeEmbeddingType.Learned => (nn.Embedding(c.NumTrainTimesteps!.Value, channels[0]), channels[0]),
            _ => (new Timesteps(channels[0], c.FlipSinToCos, c.FreqShift), channels[0]),
        };
        time_embedding = new Blocks.TimestepEmbedding(timestepInputDim, tembDim);
        class_embedding = c.ClassEmbedType switch
        {
            ClassEmbedType.Timestep => new Blocks.TimestepEmbedding(timestepInputDim, tembDim),
            ClassEmbedType.Identity => nn.Identity(),
            _ => c.NumClassEmbeds is { } classes ? nn.Embedding(classes, tembDim) : null,
        };

        var settings = new ResnetSettings(tembDim, c.NormNumGroups, c.NormEps, c.ActFn, c.ResnetTimeScaleShift, c.Dropout);

        var down = new DownBlock2D[levels];
        foreach (UNetBlockChannels b in UNet2DBody.DownPlan(channels))
        {
            bool attention = UNet2DModelConfig.BlockName(c.DownBlockTypes[b.Index]) == "AttnDownBlock2D";
            ResampleType? downsample = b.IsLast ? null : attention ? c.DownsampleType : ResampleType.Conv; // DownBlock2D always convolves
            down[b.Index] = new DownBlock2D(
                c.LayersPerBlock, b.InChannels, b.OutChannels, settings, settings.SpatialAttentions(attention, c.AttentionHeadDim, c.NormNumGroups), downsample, c.DownsamplePadding);
        }

        UNetMidBlock2D? midBlock = null;
        if (c.MidBlockType is not null)
        {
            int? attnGroups = c.AttnNormNumGroups ?? (c.ResnetTimeScaleShift == ResnetTimeScaleShift.Default ? c.NormNumGroups : null);
            ResnetSettings mid = settings with { OutputScaleFactor = c.MidBlockScaleFactor };
            midBlock = new UNetMidBlock2D(channels[^1], mid, mid.SpatialAttentions(c.AddAttention, c.AttentionHeadDim, attnGroups));
        }

        var up = new UpBlock2D[levels];
        foreach (UNetBlockChannels b in UNet2DBody.UpPlan(channels))
        {
            bool attention = UNet2DModelConfig.BlockName(c.UpBlockTypes[b.Index]) == "AttnUpBlock2D";
            ResampleType? upsample = b.IsLast ? null : attention ? c.UpsampleType : ResampleType.Conv; // UpBlock2D always convolves
            up[b.Index] = new UpBlock2D(
                c.LayersPerBlock + 1, b.InChannels, b.PrevOutputChannels, b.OutChannels, settings, settings.SpatialAttentions(attention, c.AttentionHeadDim, c.NormNumGroups), upsample);
        }

        body = new UNet2DBody(
            this,
            convIn,
            [("time_proj", time_proj), ("time_embedding", time_embedding), ("class_embedding", class_embedding)],
            down,
            midBlock,
            up,
            Layers.GroupNorm(c.NormNumGroups, channels[0], c.NormEps),
            nn.SiLU(),
            nn.Conv2d(channels[0], c.OutChannels, 3, padding: 1));
        ModelInputs.Place(this, device, dtype);
    }

    /// <summary>The configuration this network was built with (a copy: later changes to the caller's lists do not show here).</summary>
    public UNet2DModelConfig Config { get; }

    /// <summary>The weights' element type.</summary>
    public ScalarType DType => body.FirstWeight.dtype;

    /// <summary>The weights' device.</summary>
    public Device Device => body.FirstWeight.device;

    /// <summary>The number image sides must be a multiple of: 2 to the number of downsampling blocks.</summary>
    public int SizeMultiple => 1 << (Config.BlockOutChannels.Count - 1);

    /// <summary>Predicts the noise (or v, or x0) in <paramref name="sample"/> at <paramref name="timestep"/>.</summary>
    /// <param name="sample">Noisy images <c>[N, InChannels, H, W]</c>, H and W positive multiples of
    /// <see cref="SizeMultiple"/>, of the weights' dtype and device.</param>
    /// <param name="timestep">An int64 vector <c>[N]</c>, a one-element vector or a 0-d tensor (used for the whole
    /// batch); floating values are kept fractional, as diffusers keeps a tensor's values. Moved to the sample's device.</param>
    /// <returns>A new tensor <c>[N, OutChannels, H, W]</c> of the sample's dtype; the caller owns it.</returns>
    /// <exception cref="ArgumentException">An argument's shape, dtype or device is not as described, or the model needs class labels.</exception>
    public override Tensor forward(Tensor sample, Tensor timestep) => Forward(sample, timestep, null);

    /// <summary>Predicts at a timestep given as a number, as diffusers does for a Python number: it is truncated to
    /// a whole number (250.7 → 250) and used for the whole batch.</summary>
    /// <param name="sample">Noisy images, as for <see cref="forward(Tensor, Tensor)"/>.</param>
    /// <param name="timestep">The timestep; the fractional part is dropped (pass a 0-d float tensor to keep it).</param>
    /// <param name="classLabels">Class labels <c>[N]</c> when the model is class-conditional; null otherwise.</param>
    /// <returns>A new tensor <c>[N, OutChannels, H, W]</c>; the caller owns it.</returns>
    /// <exception cref="ArgumentException">An argument is not as described.</exception>
    public Tensor Forward(Tensor sample, double timestep, Tensor? classLabels = null)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (!double.IsFinite(timestep) || Math.Abs(timestep) > long.MaxValue / 2.0)
        {
            throw new ArgumentOutOfRangeException(nameof(timestep), timestep, $"timestep must be a finite number; got {timestep}.");
        }

        using Tensor t = tensor(new[] { (long)Math.Truncate(timestep) }, ScalarType.Int64, sample.device); // torch.tensor([t], dtype=torch.long)
        return Forward(sample, t, classLabels);
    }

    /// <summary>Predicts for a class-conditional model (or, with null labels, an unconditional one).</summary>
    /// <param name="sample">Noisy images, as for <see cref="forward(Tensor, Tensor)"/>.</param>
    /// <param name="timestep">The timesteps, as for <see cref="forward(Tensor, Tensor)"/>.</param>
    /// <param name="classLabels">With <c>num_class_embeds</c>: int64 labels <c>[N]</c>; with <c>class_embed_type</c>
    /// "timestep": values <c>[N]</c> embedded like timesteps; with "identity": embeddings <c>[N, time embedding width]</c>.
    /// Null for an unconditional model.</param>
    /// <returns>A new tensor <c>[N, OutChannels, H, W]</c> of the sample's dtype; the caller owns it.</returns>
    /// <exception cref="ArgumentException">An argument is not as described, labels are missing for a class-conditional model or given to an unconditional one.</exception>
    public Tensor Forward(Tensor sample, Tensor timestep, Tensor? classLabels = null)
    {
        ValidateInputs(sample, timestep, classLabels);
        using var scope = NewDisposeScope();
        ScalarType dtype = DType;

        // 0. centre the input
        if (Config.CenterInputSample)
        {
            sample = 2 * sample - 1.0;
        }

        // 1. time: [N] timesteps → [N, 4·c0] embedding (the projection is float32; the MLP runs in the weights' dtype)
        Tensor t = UNet2DBody.BatchTimesteps(timestep, sample);                         // [N]
        Tensor emb = time_embedding.call(time_proj.call(t).to(dtype));
        if (class_embedding is not null)
        {
            Tensor labels = classLabels!.to(sample.device);
            if (Config.ClassEmbedType == ClassEmbedType.Timestep)
            {
                labels = time_proj.call(labels).to(dtype);
            }

            emb = emb + class_embedding.call(labels).to(dtype);
        }

        // 2.–6. conv_in, down, mid, up, conv_out
        Tensor x = body.Forward(sample, emb, null, null);                             // [N, OutChannels, H, W]
        if (Config.TimeEmbeddingType == TimeEmbeddingType.Fourier)
        {
            x = x / t.reshape(-1, 1, 1, 1);                                             // score-SDE models predict score · σ
        }

        return x.MoveToOuterDisposeScope();
    }

    private static string Prepare(UNet2DModelConfig? config, ScalarType? dtype) =>
        ModelInputs.BeforeConstruction(() => (config ?? new UNet2DModelConfig()).Validate(), dtype, [ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16], nameof(UNet2DModel));
}
