using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Diffusion.Models.Blocks;

/// <summary>
/// One level of the U-Net: the book's <c>nn.ModuleList([block1, block2, attn, sample])</c>, whose
/// children are named <c>0</c>, <c>1</c>, <c>2</c> and <c>3</c> in the state dict. The attention slot is
/// empty (the book's <c>nn.Identity</c>, no parameters) except at the innermost and outermost levels.
/// </summary>
internal sealed class UNetLevel : nn.Module
{
    [ComponentName(Name = "0")]
    private readonly ResidualBlock block1;

    [ComponentName(Name = "1")]
    private readonly ResidualBlock block2;

    [ComponentName(Name = "2")]
    private readonly nn.Module<Tensor, Tensor>? attn;

    [ComponentName(Name = "3")]
    private readonly nn.Module<Tensor, Tensor> sample;

    public UNetLevel(ResidualBlock block1, ResidualBlock block2, nn.Module<Tensor, Tensor>? attn, nn.Module<Tensor, Tensor> sample)
        : base(nameof(UNetLevel))
    {
        this.block1 = block1;
        this.block2 = block2;
        this.attn = attn;
        this.sample = sample;
        RegisterComponents();
    }

    public ResidualBlock Block1 => block1;

    public ResidualBlock Block2 => block2;

    /// <summary>Applies the attention slot: the attention block, or the identity (a new handle to the same data).</summary>
    public Tensor Attend(Tensor x) => attn is null ? x.alias() : attn.call(x);

    /// <summary>Applies the down- or up-sampling transition.</summary>
    public Tensor Sample(Tensor x) => sample.call(x);
}
