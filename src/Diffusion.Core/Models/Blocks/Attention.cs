using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>Attention</c> (<c>src/diffusers/models/attention_processor.py</c>) with its key names
/// (<c>group_norm</c>, <c>to_q</c>, <c>to_k</c>, <c>to_v</c>, <c>to_out.0</c>), computed with
/// <c>scaled_dot_product_attention</c> (diffusers' <c>AttnProcessor2_0</c>; the classic <c>AttnProcessor</c> is the
/// same maths).
/// </summary>
/// <remarks>
/// <code>
/// x: [N, C, H, W] → [N, HW, C]  (or a sequence [N, L, C] as it is)
/// x = group_norm(x)                                                  // optional, over channels
/// q = to_q(x); k = to_k(ctx); v = to_v(ctx)                          // ctx = encoder states, or x (self-attention)
/// o = to_out.0(softmax(q·kᵀ / √dim_head + bias)·v per head)         // [N, L, C]; bias: the encoder mask's, or none
/// out = (o + residual) / rescale_output_factor                       // residual only with residual_connection
/// </code>
/// The U-Net blocks (<c>AttnDownBlock2D</c>, <c>AttnUpBlock2D</c>, <c>UNetMidBlock2D</c>) and the VAE's mid block
/// use it on feature maps with a GroupNorm and the residual; the Stable Diffusion transformer blocks use it on
/// sequences, with cross-attention. Older checkpoints name the projections <c>query</c>, <c>key</c>,
/// <c>value</c> and <c>proj_attn</c>; the loaders rename them as diffusers does.
/// </remarks>
internal sealed class Attention : nn.Module<Tensor, Tensor?, Tensor>, IBlockAttention
{
    private readonly GroupNorm? group_norm;
    private readonly Linear to_q;
    private readonly Linear to_k;
    private readonly Linear to_v;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> to_out;
    private readonly AttentionHeads heads;
    private readonly double rescaleOutputFactor;
    private readonly bool residualConnection;
    private readonly bool upcastAttention;

    /// <summary>Creates the attention; the parameters are diffusers' constructor arguments.</summary>
    /// <param name="queryDim">Channels of the input and the output.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="dimHead">Width of each head; the projections are <c>heads · dimHead</c> wide.</param>
    /// <param name="crossAttentionDim">Width of the encoder states for cross-attention; null for self-attention.</param>
    /// <param name="bias">Whether <c>to_q</c>, <c>to_k</c> and <c>to_v</c> have biases.</param>
    /// <param name="normNumGroups">Groups of the input GroupNorm; null for none.</param>
    /// <param name="eps">The GroupNorm's epsilon.</param>
    /// <param name="rescaleOutputFactor">The output is divided by it.</param>
    /// <param name="residualConnection">Whether the input is added to the output.</param>
    /// <param name="dropoutRate">Dropout after <c>to_out.0</c> (training mode only).</param>
    /// <param name="upcastAttention">Whether a float16 or bfloat16 attention computes its scores, softmax and weighted
    /// sum in float32 (diffusers' <c>upcast_attention</c>, set by Stable Diffusion 2's U-Nets whose half-precision scores
    /// overflow); no effect in float32.</param>
    public Attention(
        int queryDim,
        int heads,
        int dimHead,
        int? crossAttentionDim = null,
        bool bias = false,
        int? normNumGroups = null,
        double eps = 1e-5,
        double rescaleOutputFactor = 1.0,
        bool residualConnection = false,
        double dropoutRate = 0.0,
        bool upcastAttention = false)
        : base(nameof(Attention))
    {
        this.heads = new AttentionHeads(heads, dimHead);
        this.rescaleOutputFactor = rescaleOutputFactor;
        this.residualConnection = residualConnection;
        this.upcastAttention = upcastAttention;
        int inner = this.heads.Width;
        int context = crossAttentionDim ?? queryDim;
        group_norm = normNumGroups is { } groups ? Layers.GroupNorm(groups, queryDim, eps) : null;
        to_q = nn.Linear(queryDim, inner, hasBias: bias);
        to_k = nn.Linear(context, inner, hasBias: bias);
        to_v = nn.Linear(context, inner, hasBias: bias);
        to_out = nn.ModuleList<nn.Module<Tensor, Tensor>>(nn.Linear(inner, queryDim), nn.Dropout(dropoutRate));
        RegisterComponents();
    }

    /// <summary>Attends over the pixels of a feature map or the positions of a sequence.</summary>
    /// <param name="hiddenStates">A feature map <c>[N, C, H, W]</c> or a sequence <c>[N, L, C]</c>.</param>
    /// <param name="encoderHiddenStates">Keys and values for cross-attention, <c>[N, S, crossAttentionDim]</c>; null for self-attention.</param>
    /// <returns>A new tensor of the input's shape; the caller owns it.</returns>
    public override Tensor forward(Tensor hiddenStates, Tensor? encoderHiddenStates) => Forward(hiddenStates, encoderHiddenStates, null);

    /// <inheritdoc/>
    public Tensor Attend(Tensor x, Tensor? context, Tensor? contextBias) => Forward(x, context, contextBias);

    /// <summary>Attends, adding <paramref name="attentionBias"/> to the scores before the softmax.</summary>
    /// <param name="hiddenStates">A feature map <c>[N, C, H, W]</c> or a sequence <c>[N, L, C]</c>.</param>
    /// <param name="encoderHiddenStates">Keys and values for cross-attention, <c>[N, S, crossAttentionDim]</c>; null for self-attention.</param>
    /// <param name="attentionBias">Added to every head's scores: <c>[N, 1, S]</c> (0 to keep a key, −10000 to drop it,
    /// as diffusers turns a 1/0 mask into a bias), or null for none.</param>
    /// <returns>A new tensor of the input's shape; the caller owns it.</returns>
    public Tensor Forward(Tensor hiddenStates, Tensor? encoderHiddenStates, Tensor? attentionBias)
    {
        using var scope = NewDisposeScope();
        Tensor residual = hiddenStates;
        bool spatial = hiddenStates.dim() == 4;
        long n = hiddenStates.shape[0], c = hiddenStates.shape[1];
        long height = spatial ? hiddenStates.shape[2] : 0, width = spatial ? hiddenStates.shape[3] : 0;
        Tensor x = spatial ? hiddenStates.view(n, c, height * width).transpose(1, 2) : hiddenStates; // [N, L, C]
        if (group_norm is not null)
        {
            x = group_norm.call(x.transpose(1, 2)).transpose(1, 2);                     // normalised over C
        }

        // One copy to token-major rows: the three projections then read contiguous [N·L, C] rows instead of each
        // gathering a strided view (docs/performance.md §5, UNet2DModel).
        x = x.contiguous();

        Tensor context = encoderHiddenStates ?? x;
        Tensor q = SplitHeads(to_q.call(x));                                            // [N, heads, L, d]
        Tensor k = SplitHeads(to_k.call(context));                                      // [N, heads, S, d]
        Tensor v = SplitHeads(to_v.call(context));
        Tensor? bias = attentionBias?.unsqueeze(1);                                     // [N, 1, 1, S]: the same for every head and query
        ScalarType type = q.dtype;
        if (upcastAttention && type != ScalarType.Float32)
        {
            // diffusers' upcast_attention: scores and softmax in float32 (its classic processor keeps the weighted sum
            // in half precision; SDPA does the whole product in float32, which is at least as accurate).
            (q, k, v, bias) = (q.to(ScalarType.Float32), k.to(ScalarType.Float32), v.to(ScalarType.Float32), bias?.to(ScalarType.Float32));
        }
        else if (bias is not null && bias.dtype != type)
        {
            bias = bias.to(type);
        }

        Tensor o = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: bias); // [N, heads, L, d]
        if (o.dtype != type)
        {
            o = o.to(type);
        }

        o = heads.Merge(o);                                                             // [N, L, heads·d]
        foreach (nn.Module<Tensor, Tensor> layer in to_out)
        {
            o = layer.call(o);                                                          // [N, L, C]
        }

        if (spatial)
        {
            o = o.transpose(-1, -2).reshape(n, c, height, width);                       // [N, C, H, W]
        }

        // In place: o is this module's own fresh tensor, and neither the layout copy nor the linear above needs
        // its output for backward (autograd's version counter would reject it if one did).
        if (residualConnection)
        {
            o = o.add_(residual);
        }

        if (rescaleOutputFactor != 1.0)
        {
            o = o.div_(rescaleOutputFactor);
        }

        return o.MoveToOuterDisposeScope();
    }

    // Contiguous for scaled_dot_product_attention: libtorch's CPU kernel is several times slower on strided views
    // (docs/performance.md §5, #1); with one head the transpose is already contiguous and nothing is copied.
    private Tensor SplitHeads(Tensor t) => heads.Split(t).contiguous();                // [N, L, heads·d] → [N, heads, L, d]
}
