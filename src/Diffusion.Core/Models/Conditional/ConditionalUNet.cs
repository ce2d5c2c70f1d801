using Diffusion.Models.Blocks;
using Diffusion.Models.Internal;
using Diffusion.Runtime;
using TorchSharp.Modules;

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
    private readonly BookUNetBody body;

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
        int tembDim = u.TimeEmbeddingDim;
        sites = Options.CrossAttentionLevels;

        time_embedding = nn.Sequential(nn.Linear(u.HiddenDims[0], tembDim), nn.SiLU(), nn.Linear(tembDim, tembDim));
        if (Options.NumClasses is { } classes)
        {
            class_embedding = nn.Embedding(classes + 1, tembDim);
            using (no_grad())
            using (NewDisposeScope()) // in-place methods return a new handle to the same tensor
            {
                class_embedding.weight!.zero_();
            }
        }

        RegisterComponents(); // the embeddings first: the key order of the book's layout
        body = new BookUNetBody(
            this,
            u,
            (down, level, width) => (down ? sites.HasDown(level) : sites.HasUp(level)) ? CrossAttention(width) : null,
            width => sites.Middle ? CrossAttention(width) : null);
        ModelInputs.Place(this, device, dtype);
    }

    /// <summary>The options this network was built with (a copy: later changes to the caller's lists do not show here).</summary>
    public ConditionalUNetOptions Options { get; }

    /// <summary>The weights' element type (float32 unless the module was cast).</summary>
    public ScalarType DType => body.ConvOut.weight!.dtype;

    /// <summary>The weights' device.</summary>
    public Device Device => body.ConvOut.weight!.device;

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
                ? full(n, Options.NullClassLabel!.Value, dtype: int64, device: sample.device)
                : classLabels.to(int64).to(sample.device).flatten().broadcast_to(n);                   // [N]
            temb = temb + class_embedding.call(labels);                                                 // [N, 4·d0]
        }

        Tensor? ctx = context is null || !Options.HasCrossAttention
            ? null
            : context.to(sample.dtype).to(sample.device).expand(n, -1, -1);                            // [N, L, D]

        return body.Forward(sample, temb, ctx).MoveToOuterDisposeScope();                              // [N, OutChannels, H, W]
    }

    private static string Prepare(ConditionalUNetOptions? options, ScalarType? dtype) =>
        ModelInputs.BeforeConstruction(() => (options ?? new ConditionalUNetOptions()).Validate(), dtype, [ScalarType.Float32, ScalarType.BFloat16], nameof(ConditionalUNet));

    private CrossAttention2d? CrossAttention(int dim) => Options.ContextDim is { } contextDim
        ? new CrossAttention2d(dim, contextDim, Options.CrossAttentionHeads, Options.CrossAttentionHeadDim)
        : null;
}
