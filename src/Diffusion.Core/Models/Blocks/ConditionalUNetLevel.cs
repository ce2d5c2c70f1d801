using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Diffusion.Models.Blocks;

/// <summary>
/// One level of a <see cref="ConditionalUNet"/>: the book's level (children <c>0</c> block1, <c>1</c> block2,
/// <c>2</c> self-attention or nothing, <c>3</c> down/up-sampling, as in <c>UNetLevel</c>) plus an optional
/// <c>cross_attn</c> that runs after the self-attention slot, so the book's keys keep their names.
/// </summary>
internal sealed class ConditionalUNetLevel : nn.Module
{
    [ComponentName(Name = "0")]
    private readonly ResidualBlock block1;

    [ComponentName(Name = "1")]
    private readonly ResidualBlock block2;

    [ComponentName(Name = "2")]
    private readonly nn.Module<Tensor, Tensor>? attn;

    private readonly CrossAttention2d? cross_attn;

    [ComponentName(Name = "3")]
    private readonly nn.Module<Tensor, Tensor> sample;

    public ConditionalUNetLevel(
        ResidualBlock block1, ResidualBlock block2, nn.Module<Tensor, Tensor>? attn, CrossAttention2d? crossAttention, nn.Module<Tensor, Tensor> sample)
        : base(nameof(ConditionalUNetLevel))
    {
        this.block1 = block1;
        this.block2 = block2;
        this.attn = attn;
        cross_attn = crossAttention;
        this.sample = sample;
        RegisterComponents();
    }

    public ResidualBlock Block1 => block1;

    public ResidualBlock Block2 => block2;

    /// <summary>Self-attention (where the book has it), then cross-attention to <paramref name="context"/> (where configured and given).</summary>
    public Tensor Attend(Tensor x, Tensor? context)
    {
        Tensor y = attn is null ? x.alias() : attn.call(x);
        return cross_attn is null || context is null ? y : cross_attn.call(y, context);
    }

    /// <summary>Applies the down- or up-sampling transition.</summary>
    public Tensor Sample(Tensor x) => sample.call(x);
}
