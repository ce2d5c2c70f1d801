using Diffusion.Models.Blocks;
using Diffusion.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.Models;

/// <summary>
/// The book's denoising U-Net (<see cref="UNet"/>) conditioned on text and, optionally, on a class label:
/// forward(noisy sample, timesteps, text embeddings or null, class labels or null) → predicted noise.
/// </summary>
/// <remarks>
/// <para>The network is the book's, layer for layer and key for key (<c>time_embedding.*</c>, <c>init_conv.*</c>,
/// <c>down_blocks.{i}.{0,1,2,3}.*</c>, <c>mid_*</c>, <c>up_blocks.*</c>, <c>out_block.*</c>, <c>conv_out.*</c>),
/// with two additions:</para>
/// <list type="bullet">
/// <item><b>Cross-attention</b> (<see cref="CrossAttention2d"/>, keys <c>down_blocks.{i}.cross_attn.*</c>,
/// <c>mid_cross_attn.*</c>, <c>up_blocks.{j}.cross_attn.*</c>) at the end of each level chosen by
/// <see cref="ConditionalUNetOptions.CrossAttentionLevels"/>, and in the middle between <c>mid_attn</c> and
/// <c>mid_block2</c>: the pixels attend to the text embeddings <c>[B, L, ContextDim]</c> (for example CLIP's
/// per-token hidden states).</item>
/// <item><b>Class embedding</b> (<c>class_embedding.weight</c>, <c>[NumClasses + 1, 4·HiddenDims[0]]</c>), added
/// to the time embedding before it reaches the residual blocks, as diffusers' <c>class_embedding</c>; row
/// <c>NumClasses</c> is the "no class" label.</item>
/// </list>
/// <para>Both additions start at zero (the cross-attention output projections and the class embedding), so a
/// fresh network computes exactly the book's U-Net, and the book's weights load into it with
/// <c>LoadSafeTensors(path, strict: false)</c> as a starting point for conditional fine-tuning.</para>
/// <para><c>context = null</c> skips the cross-attention blocks (the book's U-Net); a model trained with
/// condition dropout learns its unconditional branch from the empty prompt's embeddings, so sampling passes
/// those instead (as <c>TextToImagePipeline</c> does). <c>classLabels = null</c> means the "no class" label.</para>
/// </remarks>
public sealed partial class ConditionalUNet : nn.Module<Tensor, Tensor, Tensor?, Tensor?, Tensor>, IPretrainedModel
{
    private readonly Sequential time_embedding;
    private readonly Embedding? class_embedding;
    private readonly Conv2d init_conv;
    private readonly ModuleList<ConditionalUNetLevel> down_blocks;
    private readonly ResidualBlock mid_block1;
    private readonly Residual mid_attn;
    private readonly CrossAttention2d? mid_cross_attn;
    private readonly ResidualBlock mid_block2;
    private readonly ModuleList<ConditionalUNetLevel> up_blocks;
    private readonly ResidualBlock out_block;
    private readonly Conv2d conv_out;

    /// <summary>Creates the network with freshly initialised weights (PyTorch's defaults; the conditioning paths at zero).</summary>
    /// <param name="options">The shape; null means the book's U-Net with cross-attention to 512-wide embeddings everywhere.</param>
    /// <param name="device">Where to put the weights; null keeps them on the CPU.</param>
    /// <param name="dtype">The weights' element type (float32 or bfloat16); null keeps float32.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> break a rule (the message lists every violation), or the dtype is not supported.</exception>
    /// <exception cref="TorchRuntimeException">libtorch cannot be loaded.</exception>
    public ConditionalUNet(ConditionalUNetOptions? options = null, Device? device = null, ScalarType? dtype = null)
        : base(Prepare(options, dtype))
    {
        // Private copies of the lists: the caller's may change later, the network's shape cannot.
        ConditionalUNetOptions given = options ?? new ConditionalUNetOptions();
        CrossAttentionLevels sites = given.CrossAttentionLevels;
        Options = given with
        {
            UNet = given.UNet with { HiddenDims = [.. given.UNet.HiddenDims] },
            CrossAttentionLevels = sites with
            {
                DownLevels = sites.DownLevels is null ? null : [.. sites.DownLevels],
                UpLevels = sites.UpLevels is null ? null : [.. sites.UpLevels],
            },
        };
        UNetOptions u = Options.UNet;
        IReadOnlyList<int> d = u.HiddenDims;
        int levels = d.Count;
        int tembDim = u.TimeEmbeddingDim;
        sites = Options.CrossAttentionLevels;

        time_embedding = nn.Sequential(nn.Linear(d[0], tembDim), nn.SiLU(), nn.Linear(tembDim, tembDim));
        if (Options.NumClasses is { } classes)
        {
            class_embedding = nn.Embedding(classes + 1, tembDim);
            using (no_grad())
            using (NewDisposeScope()) // in-place methods return a new handle to the same tensor
            {
                class_embedding.weight!.zero_();
            }
        }

        init_conv = nn.Conv2d(u.InChannels, d[0], 3, padding: 1);

        var down = new ConditionalUNetLevel[levels - 1];
        for (int i = 0; i < levels - 1; i++)
        {
            bool isLast = i == levels - 2;
            int width = d[i];
            nn.Module<Tensor, Tensor> transition = isLast
                ? nn.Conv2d(width, d[i + 1], 3, padding: 1)
                : nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(width * 4, d[i + 1], 1));
            down[i] = new ConditionalUNetLevel(Block(width, width), Block(width, width), isLast ? SelfAttention(width) : null,
                sites.HasDown(i) ? CrossAttention(width) : null, transition);
        }

        down_blocks = nn.ModuleList(down);

        int mid = d[levels - 1];
        mid_block1 = Block(mid, mid);
        mid_attn = SelfAttention(mid);
        mid_cross_attn = sites.Middle ? CrossAttention(mid) : null;
        mid_block2 = Block(mid, mid);

        var up = new ConditionalUNetLevel[levels - 1];
        int inDim = mid;
        for (int j = 0; j < levels - 1; j++)
        {
            bool isLast = j == levels - 2;
            int skipDim = d[levels - 2 - j];
            nn.Module<Tensor, Tensor> transition = isLast
                ? nn.Conv2d(inDim, skipDim, 3, padding: 1)
                : nn.Sequential(nn.Upsample(scale_factor: [2.0, 2.0], mode: UpsampleMode.Nearest), nn.Conv2d(inDim, skipDim, 3, padding: 1));
            up[j] = new ConditionalUNetLevel(Block(inDim + skipDim, inDim), Block(inDim + skipDim, inDim), isLast ? SelfAttention(inDim) : null,
                sites.HasUp(j) ? CrossAttention(inDim) : null, transition);
            inDim = skipDim;
        }

        up_blocks = nn.ModuleList(up);

        out_block = Block(d[0] * 2, d[0]);
        conv_out = nn.Conv2d(d[0], u.OutChannels, 1);
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

    /// <summary>The options this network was built with (a copy: later changes to the caller's lists do not show here).</summary>
    public ConditionalUNetOptions Options { get; }

    /// <summary>The weights' element type (float32 unless the module was cast).</summary>
    public ScalarType DType => conv_out.weight!.dtype;

    /// <summary>The weights' device.</summary>
    public Device Device => conv_out.weight!.device;

    /// <summary>Predicts the noise in <paramref name="sample"/> at <paramref name="timesteps"/>, given text embeddings and class labels.</summary>
    /// <param name="sample">Noisy images <c>[N, InChannels, H, W]</c> with H and W positive multiples of
    /// <see cref="UNetOptions.SizeMultiple"/>, of the weights' dtype and device.</param>
    /// <param name="timesteps">An integer (or floating) tensor: <c>[N]</c>, or one value for the whole batch; moved to the sample's device.</param>
    /// <param name="context">Text embeddings <c>[N, L, ContextDim]</c> (or <c>[1, L, ContextDim]</c> for the whole batch), any
    /// floating dtype and device (cast and moved as needed); null skips the cross-attention. Must be null when the
    /// network has no cross-attention.</param>
    /// <param name="classLabels">Integer class labels <c>[N]</c> (or one value) in [0, NumClasses], NumClasses meaning "no class";
    /// null means "no class" for every sample. Must be null when the network has no class embedding.</param>
    /// <returns>The predicted noise, a new tensor <c>[N, OutChannels, H, W]</c> of the sample's dtype; the caller owns it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sample"/> or <paramref name="timesteps"/> is null.</exception>
    /// <exception cref="ArgumentException">An argument's shape, dtype, device or value is not as described.</exception>
    public override Tensor forward(Tensor sample, Tensor timesteps, Tensor? context, Tensor? classLabels)
    {
        ValidateInputs(sample, timesteps, context, classLabels);
        using var scope = NewDisposeScope();
        long n = sample.shape[0];
        Tensor t = timesteps.to(sample.device).flatten().broadcast_to(n);                               // [N]
        Tensor temb = TimestepEmbedding.Sinusoidal(t, Options.UNet.HiddenDims[0]).to(sample.dtype);     // [N, d0]
        temb = time_embedding.call(temb);                                                               // [N, 4·d0]
        if (class_embedding is not null)
        {
            Tensor labels = classLabels is null
                ? full(n, Options.NumClasses!.Value, dtype: int64, device: sample.device)
                : classLabels.to(int64).to(sample.device).flatten().broadcast_to(n);                   // [N]
            temb = temb + class_embedding.call(labels);                                                 // [N, 4·d0]
        }

        Tensor? ctx = context is null || !Options.HasCrossAttention
            ? null
            : context.to(sample.dtype).to(sample.device).expand(n, -1, -1);                            // [N, L, D]

        Tensor x = init_conv.call(sample);                                                              // [N, d0, H, W]
        Tensor r = x;
        var skips = new Stack<Tensor>();
        foreach (ConditionalUNetLevel level in down_blocks)
        {
            x = level.Block1.call(x, temb);                                                             // [N, d_i, h, w]
            skips.Push(x);
            x = level.Attend(level.Block2.call(x, temb), ctx);
            skips.Push(x);
            x = level.Sample(x);                                                                        // [N, d_{i+1}, h/2, w/2] (last: h, w)
        }

        x = mid_block1.call(x, temb);
        x = mid_attn.call(x);
        if (mid_cross_attn is not null && ctx is not null)
        {
            x = mid_cross_attn.call(x, ctx);
        }

        x = mid_block2.call(x, temb);

        foreach (ConditionalUNetLevel level in up_blocks)
        {
            x = level.Block1.call(cat([x, skips.Pop()], 1), temb);                                      // (x, skip) along channels
            x = level.Block2.call(cat([x, skips.Pop()], 1), temb);
            x = level.Sample(level.Attend(x, ctx));                                                     // ×2 resolution (last: same)
        }

        x = out_block.call(cat([x, r], 1), temb);                                                       // [N, d0, H, W]
        return conv_out.call(x).MoveToOuterDisposeScope();                                              // [N, OutChannels, H, W]
    }

    private static string Prepare(ConditionalUNetOptions? options, ScalarType? dtype)
    {
        // Runs before the base constructor creates native state, so bad arguments leak nothing.
        (options ?? new ConditionalUNetOptions()).Validate();
        if (dtype is not null and not ScalarType.Float32 and not ScalarType.BFloat16)
        {
            throw new ArgumentException($"dtype must be Float32 or BFloat16; got {dtype}.", nameof(dtype));
        }

        TorchRuntime.EnsureAvailable();
        return nameof(ConditionalUNet);
    }

    private ResidualBlock Block(int inChannels, int outChannels) =>
        new(inChannels, outChannels, Options.UNet.TimeEmbeddingDim, Options.UNet.NormGroups);

    private Residual SelfAttention(int dim) =>
        new(new PreNorm(dim, new SelfAttention2d(dim, Options.UNet.AttentionHeads, Options.UNet.AttentionHeadDim)));

    private CrossAttention2d? CrossAttention(int dim) => Options.ContextDim is { } contextDim
        ? new CrossAttention2d(dim, contextDim, Options.CrossAttentionHeads, Options.CrossAttentionHeadDim)
        : null;
}
