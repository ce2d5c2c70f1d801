using Diffusion.Models.Blocks;
using Diffusion.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

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
    private readonly Conv2d init_conv;
    private readonly ModuleList<UNetLevel> down_blocks;
    private readonly ResidualBlock mid_block1;
    private readonly Residual mid_attn;
    private readonly ResidualBlock mid_block2;
    private readonly ModuleList<UNetLevel> up_blocks;
    private readonly ResidualBlock out_block;
    private readonly Conv2d conv_out;

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
        IReadOnlyList<int> d = Options.HiddenDims;
        int levels = d.Count;
        int tembDim = Options.TimeEmbeddingDim;

        time_embedding = nn.Sequential(nn.Linear(d[0], tembDim), nn.SiLU(), nn.Linear(tembDim, tembDim));
        init_conv = nn.Conv2d(Options.InChannels, d[0], 3, padding: 1);

        var down = new UNetLevel[levels - 1];
        for (int i = 0; i < levels - 1; i++)
        {
            bool isLast = i == levels - 2;
            int width = d[i];
            nn.Module<Tensor, Tensor> transition = isLast
                ? nn.Conv2d(width, d[i + 1], 3, padding: 1)
                : nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(width * 4, d[i + 1], 1)); // space-to-depth keeps the book's channel order
            down[i] = new UNetLevel(Block(width, width), Block(width, width), isLast ? AttentionBlock(width) : null, transition);
        }

        down_blocks = nn.ModuleList(down);

        int mid = d[levels - 1];
        mid_block1 = Block(mid, mid);
        mid_attn = AttentionBlock(mid);
        mid_block2 = Block(mid, mid);

        var up = new UNetLevel[levels - 1];
        int inDim = mid;
        for (int j = 0; j < levels - 1; j++)
        {
            bool isLast = j == levels - 2;
            int skipDim = d[levels - 2 - j];
            nn.Module<Tensor, Tensor> transition = isLast
                ? nn.Conv2d(inDim, skipDim, 3, padding: 1)
                : nn.Sequential(nn.Upsample(scale_factor: [2.0, 2.0], mode: UpsampleMode.Nearest), nn.Conv2d(inDim, skipDim, 3, padding: 1));
            up[j] = new UNetLevel(
                Block(inDim + skipDim, inDim), Block(inDim + skipDim, inDim), isLast ? AttentionBlock(inDim) : null, transition);
            inDim = skipDim;
        }

        up_blocks = nn.ModuleList(up);

        out_block = Block(d[0] * 2, d[0]);
        conv_out = nn.Conv2d(d[0], Options.OutChannels, 1);
        RegisterComponents();

        if (dtype is { } elementType && elementType != ScalarType.Float32)
        {
            this.to(elementType);
        }

        if (device is not null)
        {
            this.to(device);
        }
    }

    /// <summary>The options this network was built with (a copy: later changes to the caller's HiddenDims list do not show here).</summary>
    public UNetOptions Options { get; }

    /// <summary>The weights' element type (float32 unless the module was cast).</summary>
    public ScalarType DType => conv_out.weight!.dtype;

    /// <summary>The weights' device.</summary>
    public Device Device => conv_out.weight!.device;

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

        Tensor x = init_conv.call(sample);                                                      // [N, d0, H, W]
        Tensor r = x;
        var skips = new Stack<Tensor>();
        foreach (UNetLevel level in down_blocks)
        {
            x = level.Block1.call(x, temb);                                                     // [N, d_i, h, w]
            skips.Push(x);
            x = level.Attend(level.Block2.call(x, temb));
            skips.Push(x);
            x = level.Sample(x);                                                                // [N, d_{i+1}, h/2, w/2] (last: h, w)
        }

        x = mid_block1.call(x, temb);
        x = mid_attn.call(x);
        x = mid_block2.call(x, temb);

        foreach (UNetLevel level in up_blocks)
        {
            x = level.Block1.call(cat([x, skips.Pop()], 1), temb);                              // (x, skip) along channels
            x = level.Block2.call(cat([x, skips.Pop()], 1), temb);
            x = level.Sample(level.Attend(x));                                                  // ×2 resolution (last: same)
        }

        x = out_block.call(cat([x, r], 1), temb);                                               // [N, d0, H, W]
        return conv_out.call(x).MoveToOuterDisposeScope();                                      // [N, OutChannels, H, W]
    }

    private static string Prepare(UNetOptions? options, ScalarType? dtype)
    {
        // Runs before the base constructor creates native state, so bad arguments leak nothing.
        (options ?? new UNetOptions()).Validate();
        if (dtype is not null and not ScalarType.Float32 and not ScalarType.BFloat16)
        {
            throw new ArgumentException($"dtype must be Float32 or BFloat16; got {dtype}.", nameof(dtype));
        }

        TorchRuntime.EnsureAvailable();
        return nameof(UNet);
    }

    private ResidualBlock Block(int inChannels, int outChannels) =>
        new(inChannels, outChannels, Options.TimeEmbeddingDim, Options.NormGroups);

    private Residual AttentionBlock(int dim) =>
        new(new PreNorm(dim, new SelfAttention2d(dim, Options.AttentionHeads, Options.AttentionHeadDim)));

    private void ValidateInputs(Tensor sample, Tensor timesteps)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(timesteps);
        int c = Options.InChannels;
        int m = Options.SizeMultiple;
        string shape = Shape(sample);
        if (sample.dim() != 4 || sample.shape[1] != c || sample.shape[0] < 1)
        {
            throw new ArgumentException($"sample must be [N,{c},H,W] with N >= 1; got {shape}.", nameof(sample));
        }

        if (sample.shape[2] < 1 || sample.shape[3] < 1 || sample.shape[2] % m != 0 || sample.shape[3] % m != 0)
        {
            throw new ArgumentException(
                $"sample height and width must be positive multiples of {m} (the U-Net halves them {Options.HiddenDims.Count - 2} times); got {shape}.",
                nameof(sample));
        }

        ScalarType weights = DType;
        if (sample.dtype != weights)
        {
            throw new ArgumentException(
                $"sample must have the weights' dtype {weights} (cast the model with to(ScalarType.BFloat16) for bfloat16); got {sample.dtype}.",
                nameof(sample));
        }

        Device device = Device;
        if (sample.device_type != device.type || sample.device_index != device.index)
        {
            throw new ArgumentException($"sample must be on the weights' device {device}; got {sample.device}.", nameof(sample));
        }

        if (timesteps.dtype == ScalarType.Bool || !(is_integral(timesteps.dtype) || is_floating_point(timesteps.dtype)))
        {
            throw new ArgumentException($"timesteps must be an integer (or floating) tensor; got {timesteps.dtype}.", nameof(timesteps));
        }

        long n = sample.shape[0];
        bool single = timesteps.numel() == 1;
        bool vector = timesteps.dim() == 1 && timesteps.shape[0] == n;
        if (!single && !vector)
        {
            throw new ArgumentException(
                $"timesteps must be a single value or a vector [{n}] (one per sample); got {Shape(timesteps)}.", nameof(timesteps));
        }
    }

    private static string Shape(Tensor t) => "[" + string.Join(",", t.shape) + "]";
}
