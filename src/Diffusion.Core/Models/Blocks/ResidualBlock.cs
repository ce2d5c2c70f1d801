using TorchSharp.Modules;

namespace Diffusion.Models.Blocks;

/// <summary>
/// The book's time-conditioned <c>ResidualBlock</c> (markhliu/DGAI <c>utils/unet_util.py</c>):
/// two 3×3 convolutions, each followed by GroupNorm and SiLU, with the projected time embedding
/// added per channel between them, plus a shortcut (a 1×1 convolution when the channel count changes).
/// </summary>
/// <remarks>
/// <code>
/// h   = SiLU(GroupNorm(conv1(x)))                        // [N, out, H, W]
/// h  += Linear(SiLU(SiLU(temb)))[:, :, None, None]        // SiLU twice: the block's, then time_emb_proj's own
/// out = SiLU(GroupNorm(conv2(h))) + residual_conv(x)      // residual_conv is the identity when in == out
/// </code>
/// Fields are declared in the book's registration order, so <c>state_dict()</c> lists the keys as PyTorch does.
/// </remarks>
internal sealed class ResidualBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential time_emb_proj;
    private readonly Conv2d? residual_conv;
    private readonly Conv2d conv1;
    private readonly Conv2d conv2;
    private readonly GroupNorm norm1;
    private readonly GroupNorm norm2;
    private readonly SiLU nonlinearity;

    /// <summary>Creates a block from <paramref name="inChannels"/> to <paramref name="outChannels"/> channels.</summary>
    /// <param name="inChannels">Channels of the input feature map.</param>
    /// <param name="outChannels">Channels of the output; a multiple of <paramref name="groups"/>.</param>
    /// <param name="tembChannels">Width of the time embedding.</param>
    /// <param name="groups">GroupNorm groups (the book: 8).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is below 1, or <paramref name="outChannels"/> is not a multiple of <paramref name="groups"/>.</exception>
    public ResidualBlock(int inChannels, int outChannels, int tembChannels, int groups = 8)
        : base(nameof(ResidualBlock))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(tembChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        if (outChannels % groups != 0)
        {
            throw new ArgumentOutOfRangeException(
                nameof(outChannels), outChannels, $"outChannels must be a multiple of groups ({groups}); got {outChannels}.");
        }

        InChannels = inChannels;
        OutChannels = outChannels;
        time_emb_proj = nn.Sequential(nn.SiLU(), nn.Linear(tembChannels, outChannels));
        residual_conv = inChannels != outChannels ? nn.Conv2d(inChannels, outChannels, 1) : null;
        conv1 = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, padding: 1);
        norm1 = Layers.GroupNorm(groups, outChannels);
        norm2 = Layers.GroupNorm(groups, outChannels);
        nonlinearity = nn.SiLU();
        RegisterComponents();
    }

    /// <summary>Channels of the input feature map.</summary>
    public int InChannels { get; }

    /// <summary>Channels of the output feature map.</summary>
    public int OutChannels { get; }

    /// <summary>Runs the block.</summary>
    /// <param name="x">The feature map, <c>[N, InChannels, H, W]</c>.</param>
    /// <param name="temb">The time embedding, <c>[N, tembChannels]</c>.</param>
    /// <returns>A new tensor <c>[N, OutChannels, H, W]</c>; the caller owns it.</returns>
    public override Tensor forward(Tensor x, Tensor temb)
    {
        using var scope = NewDisposeScope();
        Tensor residual = residual_conv is null ? x : residual_conv.call(x);         // [N, out, H, W]
        Tensor h = nonlinearity.call(norm1.call(conv1.call(x)));                    // [N, out, H, W]
        Tensor t = time_emb_proj.call(nonlinearity.call(temb));                     // [N, out]
        // In place on SiLU outputs: SiLU's backward keeps its input, not its output, so autograd allows it,
        // and each add then makes no new [N, out, H, W] tensor.
        h.add_(t.unsqueeze(-1).unsqueeze(-1));                                      // + [N, out, 1, 1]
        h = nonlinearity.call(norm2.call(conv2.call(h)));
        return h.add_(residual).MoveToOuterDisposeScope();
    }
}
