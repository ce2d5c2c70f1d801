using Diffusion.Models.Blocks;
using Diffusion.Models.Internal;
using Diffusion.Runtime;
using TorchSharp.Modules;

namespace Diffusion.Models;

/// <summary>
/// The denoising U-Net of "Learn Generative AI with PyTorch", chapter 15 (markhliu/DGAI <c>utils/unet_util.py</c>):
/// given noisy images and their timesteps it predicts the noise, <c>[N, OutChannels, H, W]</c>.
/// </summary>
/// <remarks>
/// <para>Layers, order, state-dict key names and shapes equal the book's PyTorch model, so a
/// <c>state_dict()</c> exported from it loads unchanged (see <c>docs/unet.md</c>). With
/// <c>d = HiddenDims</c> and L = d.Count levels:</para>
/// <code>
/// temb = Linear(4d0) → SiLU → Linear(4d0) of the sinusoidal embedding of width d0     // time_embedding.{0,2}
/// x = r = init_conv(sample)                                                            // [N, d0, H, W]
/// down level i (i = 0 … L−2) at width d_i: x = block1(x); skip; x = block2(x); x = attn(x); skip;
///     x = i &lt; L−2 ? conv1x1(space_to_depth_2x2(x)) : conv3x3(x)                    // → d_{i+1}
/// middle at d_{L−1}: mid_block1, mid_attn, mid_block2
/// up level j (j = 0 … L−2): x = block1(cat(x, skip)); x = block2(cat(x, skip)); x = attn(x);
///     x = j &lt; L−2 ? conv3x3(nearest_upsample_2x(x)) : conv3x3(x)
/// out = conv_out(out_block(cat(x, r)))                                                  // [N, OutChannels, H, W]
/// </code>
/// <para>Attention (4 heads × 32 behind a channel LayerNorm, with a residual) sits only at the last down
/// level, the middle and the last up level (full resolution). Move the model with <c>to(device)</c> and
/// cast it with <c>to(ScalarType.BFloat16)</c>; inputs must then have the same device and dtype.</para>
/// </remarks>
public sealed partial class UNet : nn.Module<Tensor, Tensor, Tensor>, IPretrainedModel
{
    private readonly Sequential time_embedding;
    private readonly BookUNetBody body;

    /// <summary>Creates the network with freshly initialised weights (PyTorch's default initialisation).</summary>
    /// <param name="options">The shape; null means the book's configuration (<see cref="UNetOptions"/> defaults).</param>
    /// <param name="device">Where to put the weights; null keeps them on the CPU.</param>
    /// <param name="dtype">The weights' element type (float32 or bfloat16); null keeps float32.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> break a rule; the message lists every violation.</exception>
    /// <exception cref="TorchRuntimeException">libtorch cannot be loaded.</exception>
    public UNet(UNetOptions? options = null, Device? device = null, ScalarType? dtype = null)
        : base(Prepare(options, dtype))
    {
        // A private copy of the widths: the caller's list may change later, the network's shape cannot.
        UNetOptions given = options ?? new UNetOptions();
        Options = given with { HiddenDims = [.. given.HiddenDims] };
        int tembDim = Options.TimeEmbeddingDim;
        time_embedding = nn.Sequential(nn.Linear(Options.HiddenDims[0], tembDim), nn.SiLU(), nn.Linear(tembDim, tembDim));
        RegisterComponents(); // the time embedding first: the book's key order
        body = new BookUNetBody(this, Options, (_, _, _) => null, _ => null);
        ModelInputs.Place(this, device, dtype);
    }

    /// <summary>The options this network was built with (a copy: later changes to the caller's HiddenDims list do not show here).</summary>
    public UNetOptions Options { get; }

    /// <summary>The weights' element type (float32 unless the module was cast).</summary>
    public ScalarType DType => body.ConvOut.weight!.dtype;

    /// <summary>The weights' device.</summary>
    public Device Device => body.ConvOut.weight!.device;

    /// <summary>Predicts the noise in <paramref name="sample"/> at <paramref name="timesteps"/>.</summary>
    /// <param name="sample">Noisy images <c>[N, InChannels, H, W]</c> with H and W positive multiples of
    /// <see cref="UNetOptions.SizeMultiple"/>, of the weights' dtype and device.</param>
    /// <param name="timesteps">An integer (or, for continuous-time schedulers, floating) tensor: a vector
    /// <c>[N]</c>, or a single value (0-dim or one element) used for the whole batch. It is moved to the
    /// sample's device if needed.</param>
    /// <returns>The predicted noise, a new tensor <c>[N, OutChannels, H, W]</c> of the sample's dtype; the caller owns it.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">An argument's shape, dtype or device is not as described.</exception>
    public override Tensor forward(Tensor sample, Tensor timesteps)
    {
        ValidateInputs(sample, timesteps);
        using var scope = NewDisposeScope();
        long n = sample.shape[0];
        Tensor t = timesteps.to(sample.device).flatten().broadcast_to(n);                       // [N]
        Tensor temb = TimestepEmbedding.Sinusoidal(t, Options.HiddenDims[0]).to(sample.dtype);  // [N, d0]
        temb = time_embedding.call(temb);                                                       // [N, 4·d0]

        return body.Forward(sample, temb, context: null).MoveToOuterDisposeScope();            // [N, OutChannels, H, W]
    }

    private static string Prepare(UNetOptions? options, ScalarType? dtype) =>
        ModelInputs.BeforeConstruction(() => (options ?? new UNetOptions()).Validate(), dtype, [ScalarType.Float32, ScalarType.BFloat16], nameof(UNet));

    private void ValidateInputs(Tensor sample, Tensor timesteps)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(timesteps);
        ModelInputs.CheckSampleShape(sample, Options.InChannels, Options.SizeMultiple, $"the U-Net halves them {Options.HiddenDims.Count - 2} times");
        ModelInputs.CheckPlacement(sample, DType, Device, "cast the model with to(ScalarType.BFloat16) for bfloat16");
        ModelInputs.CheckTimesteps(timesteps, sample.shape[0]);
    }
}
