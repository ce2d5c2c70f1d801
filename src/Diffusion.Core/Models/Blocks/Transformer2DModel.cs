using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>Transformer2DModel</c> on continuous input (<c>src/diffusers/models/transformers/transformer_2d.py</c>),
/// the attention of Stable Diffusion's <c>CrossAttnDownBlock2D</c>, <c>CrossAttnUpBlock2D</c> and
/// <c>UNetMidBlock2DCrossAttn</c>, with its key names: <c>norm</c>, <c>proj_in</c>, <c>transformer_blocks.i.*</c>,
/// <c>proj_out</c>.
/// </summary>
/// <remarks>
/// <code>
/// h = norm(x)                                              // GroupNorm, eps 1e-6
/// conv projection (SD 1):   h = proj_in(h) → [N, HW, inner]  (1×1 convolution, then pixels to rows)
/// linear projection (SD 2): h = proj_in(h as [N, HW, C])     (rows first, then a linear layer)
/// h = transformer_blocks(h, context, bias)                 // [N, HW, inner]
/// out = proj_out(h) back to [N, C, H, W] + x               // in the projection's order, mirrored
/// </code>
/// <c>inner = heads · ⌊C / heads⌋</c> (diffusers passes <c>out_channels // num_attention_heads</c> as the head width).
/// </remarks>
internal sealed class Transformer2DModel : nn.Module<Tensor, Tensor?, Tensor>, IBlockAttention
{
    private readonly GroupNorm norm;
    private readonly nn.Module<Tensor, Tensor> proj_in;
    private readonly ModuleList<BasicTransformerBlock> transformer_blocks;
    private readonly nn.Module<Tensor, Tensor> proj_out;
    private readonly bool useLinearProjection;
    private readonly int inner;

    /// <summary>Creates the transformer.</summary>
    /// <param name="channels">Channels of the feature map (input and output).</param>
    /// <param name="heads">Attention heads (diffusers' <c>num_attention_heads</c>).</param>
    /// <param name="numLayers">Transformer blocks (<c>transformer_layers_per_block</c>).</param>
    /// <param name="crossAttentionDim">Width of the encoder states.</param>
    /// <param name="normGroups">Groups of the input GroupNorm.</param>
    /// <param name="useLinearProjection">Linear <c>proj_in</c>/<c>proj_out</c> (SD 2) instead of 1×1 convolutions (SD 1).</param>
    /// <param name="onlyCrossAttention">Whether each block's first attention attends to the encoder states.</param>
    /// <param name="upcastAttention">Whether half-precision attention runs in float32.</param>
    public Transformer2DModel(int channels, int heads, int numLayers, int crossAttentionDim, int normGroups, bool useLinearProjection, bool onlyCrossAttention, bool upcastAttention)
        : base(nameof(Transformer2DModel))
    {
        int headDim = channels / heads;
        inner = heads * headDim;
        this.useLinearProjection = useLinearProjection;
        norm = Layers.GroupNorm(normGroups, channels, 1e-6);
        proj_in = useLinearProjection ? nn.Linear(channels, inner) : nn.Conv2d(channels, inner, 1);
        transformer_blocks = nn.ModuleList([.. Enumerable.Range(0, numLayers).Select(_ =>
            new BasicTransformerBlock(inner, heads, headDim, crossAttentionDim, onlyCrossAttention, upcastAttention))]);
        proj_out = useLinearProjection ? nn.Linear(inner, channels) : nn.Conv2d(inner, channels, 1);
        RegisterComponents();
    }

    /// <summary>Runs the transformer without a mask.</summary>
    /// <param name="x">The feature map <c>[N, C, H, W]</c>.</param>
    /// <param name="context">The encoder states <c>[N, S, crossAttentionDim]</c>.</param>
    /// <returns>A new tensor <c>[N, C, H, W]</c>; the caller owns it.</returns>
    public override Tensor forward(Tensor x, Tensor? context) => Attend(x, context, null);

    /// <inheritdoc/>
    public Tensor Attend(Tensor x, Tensor? context, Tensor? contextBias)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0], c = x.shape[1], height = x.shape[2], width = x.shape[3];
        Tensor h = norm.call(x);
        if (useLinearProjection)
        {
            h = proj_in.call(h.permute(0, 2, 3, 1).reshape(n, height * width, c));      // [N, HW, inner]
        }
        else
        {
            h = proj_in.call(h).permute(0, 2, 3, 1).reshape(n, height * width, inner);  // [N, HW, inner]
        }

        foreach (BasicTransformerBlock block in transformer_blocks)
        {
            h = block.Forward(h, context, contextBias);
        }

        if (useLinearProjection)
        {
            h = proj_out.call(h).reshape(n, height, width, c).permute(0, 3, 1, 2).contiguous(); // [N, C, H, W]
        }
        else
        {
            h = proj_out.call(h.reshape(n, height, width, inner).permute(0, 3, 1, 2).contiguous()); // [N, C, H, W]
        }

        return h.add_(x).MoveToOuterDisposeScope();                                   // h is this call's own tensor
    }
}
