using Diffusion.Models.Blocks;
using Diffusion.Models.Internal;
using Diffusion.Runtime;
using TorchSharp.Modules;

namespace Diffusion.Models;

/// <summary>
/// diffusers' <c>AutoencoderKL</c> (<c>src/diffusers/models/autoencoders/autoencoder_kl.py</c> with <c>vae.py</c>'s
/// <c>Encoder</c>, <c>Decoder</c> and <c>DiagonalGaussianDistribution</c>), layer for layer and with its state-dict key
/// names: the VAE of Stable Diffusion, which maps images to latents 8× smaller per side and back.
/// </summary>
/// <remarks>
/// <code>
/// Encode: moments = quant_conv(encoder(x))           // [N, 2·latent, H/f, W/f], f = 2^(levels − 1)
///         → DiagonalGaussianDistribution(mean, logvar)
/// Decode: image = decoder(post_quant_conv(z))         // [N, out_channels, h·f, w·f]
/// </code>
/// Images are in [−1, 1]. A diffusion model sees <c>latent · ScalingFactor</c>; divide by it before <see cref="Decode"/>.
/// <see cref="UseSlicing"/> runs a batch one image at a time; <see cref="UseTiling"/> cuts large images (or latents)
/// into overlapping tiles of <c>sample_size</c> (or <c>sample_size / f</c>) and blends the seams, as diffusers does, so
/// memory stays that of one tile. Load a diffusers folder (<c>vae/</c> of a Stable Diffusion download) with
/// <see cref="FromPretrained"/>, write one with <see cref="SavePretrained"/>. Move the model with <c>to(device)</c>,
/// cast it with <c>to(ScalarType.Float16)</c>; inputs must then have the same device and dtype.
/// </remarks>
public sealed partial class AutoencoderKL : nn.Module, IPretrainedModel
{
    private readonly VaeCoder encoder;
    private readonly VaeCoder decoder;
    private readonly Conv2d? quant_conv;
    private readonly Conv2d? post_quant_conv;

    /// <summary>Creates the autoencoder with freshly initialised weights (PyTorch's default initialisation).</summary>
    /// <param name="config">The shape; null means diffusers' defaults (<see cref="AutoencoderKLConfig"/>).</param>
    /// <param name="device">Where to put the weights; null keeps them on the CPU.</param>
    /// <param name="dtype">The weights' element type (float32, float16 or bfloat16); null keeps float32.</param>
    /// <exception cref="ArgumentException"><paramref name="config"/> breaks a rule (the message lists every violation), or the dtype is not a floating type this model supports.</exception>
    /// <exception cref="TorchRuntimeException">libtorch cannot be loaded.</exception>
    public AutoencoderKL(AutoencoderKLConfig? config = null, Device? device = null, ScalarType? dtype = null)
        : base(Prepare(config, dtype))
    {
        Config = DiffusersModelConfig.PrivateCopy(config);
        AutoencoderKLConfig c = Config;
        encoder = VaeCoder.Encoder(c);
        decoder = VaeCoder.Decoder(c);
        quant_conv = c.UseQuantConv ? nn.Conv2d(2 * c.LatentChannels, 2 * c.LatentChannels, 1) : null;
        post_quant_conv = c.UsePostQuantConv ? nn.Conv2d(c.LatentChannels, c.LatentChannels, 1) : null;
        RegisterComponents();

        TileSampleMinSize = c.SampleSize;
        TileLatentMinSize = (int)(c.SampleSize / Math.Pow(2, c.BlockOutChannels.Count - 1)); // int(sample_size / 2**(levels − 1))

        ModelInputs.Place(this, device, dtype);
    }

    /// <summary>The configuration this network was built with (a copy: later changes to the caller's lists do not show here).</summary>
    public AutoencoderKLConfig Config { get; }

    /// <summary>The latent scale (<c>scaling_factor</c>): diffusion models see <c>latent · ScalingFactor</c>.</summary>
    public double ScalingFactor => Config.ScalingFactor;

    /// <summary>The factor by which the encoder shrinks each side: 2 to the number of downsampling levels (8 for Stable Diffusion).</summary>
    public int DownscaleFactor => 1 << (Config.BlockOutChannels.Count - 1);

    /// <summary>The weights' element type.</summary>
    public ScalarType DType => parameters().First().dtype;

    /// <summary>The weights' device.</summary>
    public Device Device => parameters().First().device;

    /// <summary>Whether <see cref="Encode"/> and <see cref="Decode"/> run a batch one image at a time (diffusers'
    /// <c>use_slicing</c>): the same results, the memory of one image.</summary>
    /// <value>The default value is false.</value>
    public bool UseSlicing { get; set; }

    /// <summary>Whether images larger than <see cref="TileSampleMinSize"/> (latents larger than
    /// <see cref="TileLatentMinSize"/>) are encoded (decoded) in overlapping tiles whose seams are blended (diffusers'
    /// <c>use_tiling</c>): memory stays that of one tile; results differ slightly from the untiled ones near seams.</summary>
    /// <value>The default value is false.</value>
    public bool UseTiling { get; set; }

    /// <summary>The side of an image tile: <c>sample_size</c> (diffusers' <c>tile_sample_min_size</c>).</summary>
    public int TileSampleMinSize { get; }

    /// <summary>The side of a latent tile: <c>int(sample_size / 2^(levels − 1))</c> (diffusers' <c>tile_latent_min_size</c>).</summary>
    public int TileLatentMinSize { get; }

    /// <summary>Tiles overlap by this fraction of their side (diffusers' <c>tile_overlap_factor</c>).</summary>
    public const double TileOverlapFactor = 0.25;

    /// <summary>Turns <see cref="UseSlicing"/> on (diffusers' <c>enable_slicing</c>).</summary>
    public void EnableSlicing() => UseSlicing = true;

    /// <summary>Turns <see cref="UseSlicing"/> off (diffusers' <c>disable_slicing</c>).</summary>
    public void DisableSlicing() => UseSlicing = false;

    /// <summary>Turns <see cref="UseTiling"/> on (diffusers' <c>enable_tiling</c>).</summary>
    public void EnableTiling() => UseTiling = true;

    /// <summary>Turns <see cref="UseTiling"/> off (diffusers' <c>disable_tiling</c>).</summary>
    public void DisableTiling() => UseTiling = false;

    /// <summary>Encodes images into the latent distribution (diffusers' <c>encode(x).latent_dist</c>). Inference only:
    /// runs under <c>no_grad</c>, so a 512×512 image does not keep every activation for a backward pass.</summary>
    /// <param name="x">Images <c>[N, in_channels, H, W]</c> in [−1, 1], of the weights' dtype and device.</param>
    /// <returns>The distribution over latents <c>[N, latent_channels, H/f, W/f]</c>; the caller owns and disposes it
    /// (see <see cref="DiagonalGaussianDistribution"/> for the tensors it holds).</returns>
    /// <exception cref="ArgumentException"><paramref name="x"/>'s rank, channels, dtype or device is not as described.</exception>
    public DiagonalGaussianDistribution Encode(Tensor x)
    {
        CheckInput(x, nameof(x), Config.InChannels, "in_channels");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor moments = PerImage(x, EncodeOne);                                        // [N, 2·latent, h, w]
        var distribution = new DiagonalGaussianDistribution(moments);
        foreach (Tensor t in new[] { distribution.Parameters, distribution.Mean, distribution.LogVar, distribution.Std, distribution.Var })
        {
            t.MoveToOuterDisposeScope();
        }

        return distribution;
    }

    /// <summary>Decodes latents into images (diffusers' <c>decode(z).sample</c>). Latents a diffusion model produced
    /// must be divided by <see cref="ScalingFactor"/> first. Inference only: runs under <c>no_grad</c>.</summary>
    /// <param name="z">Latents <c>[N, latent_channels, h, w]</c>, of the weights' dtype and device.</param>
    /// <returns>A new tensor <c>[N, out_channels, h·f, w·f]</c>, roughly in [−1, 1]; the caller owns it.</returns>
    /// <exception cref="ArgumentException"><paramref name="z"/>'s rank, channels, dtype or device is not as described.</exception>
    public Tensor Decode(Tensor z)
    {
        CheckInput(z, nameof(z), Config.LatentChannels, "latent_channels");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return PerImage(z, DecodeOne).MoveToOuterDisposeScope();                        // [N, out, H, W]
    }

    /// <summary>Encodes and decodes (diffusers' <c>forward</c>): the reconstruction of <paramref name="sample"/>.
    /// Inference only, like <see cref="Encode"/> and <see cref="Decode"/>.</summary>
    /// <param name="sample">Images <c>[N, in_channels, H, W]</c>, as for <see cref="Encode"/>.</param>
    /// <param name="samplePosterior">True decodes a latent drawn from the posterior; false (the default) its mean.</param>
    /// <param name="generator">The CPU generator for the draw (see <see cref="DiagonalGaussianDistribution.Sample"/>).</param>
    /// <returns>A new tensor <c>[N, out_channels, H', W']</c>; the caller owns it.</returns>
    /// <exception cref="ArgumentException"><paramref name="sample"/> is not as described.</exception>
    public Tensor Forward(Tensor sample, bool samplePosterior = false, Generator? generator = null)
    {
        CheckInput(sample, nameof(sample), Config.InChannels, "in_channels");
        using var scope = NewDisposeScope();
        using DiagonalGaussianDistribution posterior = Encode(sample);
        Tensor z = samplePosterior ? posterior.Sample(generator) : posterior.Mode();
        return Decode(z).MoveToOuterDisposeScope();
    }

    // diffusers' use_slicing: a batch one image at a time, concatenated.
    private Tensor PerImage(Tensor x, Func<Tensor, Tensor> run) =>
        UseSlicing && x.shape[0] > 1 ? cat([.. x.split(1).Select(run)], 0) : run(x);

    // diffusers' _encode: the encoder (tiled when the image exceeds a tile), then quant_conv.
    private Tensor EncodeOne(Tensor x)
    {
        if (UseTiling && (x.shape[3] > TileSampleMinSize || x.shape[2] > TileSampleMinSize))
        {
            return TiledEncode(x);
        }

        Tensor h = encoder.call(x);
        return quant_conv is null ? h : quant_conv.call(h);
    }

    // diffusers' _decode: post_quant_conv, then the decoder (tiled when the latent exceeds a tile).
    private Tensor DecodeOne(Tensor z)
    {
        if (UseTiling && (z.shape[3] > TileLatentMinSize || z.shape[2] > TileLatentMinSize))
        {
            return TiledDecode(z);
        }

        Tensor h = post_quant_conv is null ? z : post_quant_conv.call(z);
        return decoder.call(h);
    }

    private void CheckInput(Tensor x, string name, int channels, string key)
    {
        ArgumentNullException.ThrowIfNull(x, name);
        if (x.dim() != 4 || x.shape[1] != channels || x.shape[0] < 1 || x.shape[2] < 1 || x.shape[3] < 1)
        {
            throw new ArgumentException($"{name} must be [N,{channels},H,W] ({key} = {channels}) with N, H, W >= 1; got {ModelInputs.Shape(x)}.", name);
        }

        ModelInputs.CheckPlacement(x, DType, Device, "cast the model with to(dtype) to change it", name);
    }

    // Runs before the base constructor creates native state, so bad arguments leak nothing.
    private static string Prepare(AutoencoderKLConfig? config, ScalarType? dtype) =>
        ModelInputs.BeforeConstruction(() => (config ?? new AutoencoderKLConfig()).Validate(), dtype,
            [ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16], nameof(AutoencoderKL));
}
