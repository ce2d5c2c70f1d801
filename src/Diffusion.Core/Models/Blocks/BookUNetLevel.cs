using TorchSharp.Utils;

namespace Diffusion.Models.Blocks;

/// <summary>
/// One level of the book's U-Net: its <c>nn.ModuleList([block1, block2, attn, sample])</c>, whose children are
/// named <c>0</c>, <c>1</c>, <c>2</c> and <c>3</c> in the state dict. The attention slot is empty (the book's
/// <c>nn.Identity</c>, no parameters) except at the innermost and outermost levels. A <see cref="ConditionalUNet"/>
/// level adds an optional <c>cross_attn</c> after the attention slot, so the book's keys keep their names.
/// </summary>
internal sealed class BookUNetLevel : nn.Module
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

    public BookUNetLevel(
        ResidualBlock block1, ResidualBlock block2, nn.Module<Tensor, Tensor>? attn, CrossAttention2d? crossAttention, nn.Module<Tensor, Tensor> sample)
        : base(nameof(BookUNetLevel))
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

    /// <summary>Self-attention where the book has it (else the identity: a new handle to the same data), then
    /// cross-attention to <paramref name="context"/> where configured and given.</summary>
    public Tensor Attend(Tensor x, Tensor? context)
    {
        Tensor y = attn is null ? x.alias() : attn.call(x);
        return cross_attn is null || context is null ? y : cross_attn.call(y, context);
    }

    /// <summary>Applies the down- or up-sampling transition.</summary>
    public Tensor Sample(Tensor x) => sample.call(x);
}
