using Diffusion.Models.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models;

/// <summary>The U-Net's blocks against their plain formulas.</summary>
public sealed class BlockTests
{
    [Fact]
    public void AttentionEqualsThePlainSoftmaxFormulation()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var attention = new SelfAttention2d(16);
        Tensor x = randn(2, 16, 4, 6);
        using var _ = no_grad();
        Tensor actual = attention.call(x);

        // The book's formulation: q scaled by 1/sqrt(32), scores over all pixel pairs, softmax, weighted sum.
        Dictionary<string, Tensor> w = attention.state_dict();
        Tensor[] qkv = nn.functional.conv2d(x, w["to_qkv.weight"]).chunk(3, 1);
        Tensor q = qkv[0].reshape(2, 4, 32, 24) * (1 / Math.Sqrt(32));             // [B, heads, d, HW]
        Tensor k = qkv[1].reshape(2, 4, 32, 24);
        Tensor v = qkv[2].reshape(2, 4, 32, 24);
        Tensor scores = einsum("bhdi,bhdj->bhij", q, k).softmax(-1);                // [B, heads, HW, HW]
        Tensor attended = einsum("bhij,bhdj->bhid", scores, v);                     // [B, heads, HW, d]
        Tensor merged = attended.permute(0, 1, 3, 2).reshape(2, 128, 4, 6);         // [B, heads·d, H, W]
        Tensor expected = nn.functional.conv2d(merged, w["to_out.weight"], w["to_out.bias"]);

        // Same maths, different summation order (fused kernel vs einsum): float32 rounding, outputs of
        // order 0.1–1, so 1e-6 absolute is a few ulps.
        float maxError = (actual - expected).abs().max().item<float>();
        Assert.True(maxError < 1e-6f, $"max |sdpa - plain| = {maxError:E2}");
    }

    [Fact]
    public void ChannelLayerNormNormalisesEachPixelOverChannelsWithTheGain()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var norm = new ChannelLayerNorm(5);
        using (no_grad())
        {
            norm.state_dict()["g"].copy_(tensor(new float[] { 1, 2, 3, 4, 5 }).reshape(1, 5, 1, 1));
        }

        Tensor x = randn(2, 5, 3, 3) * 3 + 1;
        using var _ = no_grad();
        Tensor expected = nn.functional.layer_norm(x.permute(0, 2, 3, 1), [5], eps: 1e-5).permute(0, 3, 1, 2)
                          * tensor(new float[] { 1, 2, 3, 4, 5 }).reshape(1, 5, 1, 1);
        float maxError = (norm.call(x) - expected).abs().max().item<float>();
        Assert.True(maxError < 1e-5f, $"max error {maxError:E2}"); // float32 rounding of values up to ~10
    }

    [Fact]
    public void ChannelLayerNormUsesTheBooksEpsilonPerDtype()
    {
        using var scope = NewDisposeScope();
        using var norm = new ChannelLayerNorm(2);
        using var _ = no_grad();
        // Two channels ±0.01: variance 1e-4, so the output is 0.01 / sqrt(1e-4 + eps).
        Tensor x = tensor(new[] { 0.01, -0.01 }).reshape(1, 2, 1, 1);
        Assert.Equal(0.01 / Math.Sqrt(1e-4 + 1e-5), norm.call(x.to(float32))[0, 0, 0, 0].item<float>(), 5);
        norm.to(float64);
        Assert.Equal(0.01 / Math.Sqrt(1e-4 + 1e-3), norm.call(x)[0, 0, 0, 0].item<double>(), 9); // not float32: 1e-3
    }

    [Fact]
    public void ResidualBlockAddsTheTwiceActivatedTimeEmbeddingPerChannel()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var block = new ResidualBlock(8, 16, 12);
        Tensor x = randn(2, 8, 4, 4);
        Tensor temb = randn(2, 12);
        using var _ = no_grad();
        Dictionary<string, Tensor> w = block.state_dict();
        Assert.Equal(
            ["time_emb_proj.1.weight", "time_emb_proj.1.bias", "residual_conv.weight", "residual_conv.bias", "conv1.weight", "conv1.bias",
             "conv2.weight", "conv2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"],
            w.Keys.ToArray());

        Tensor h = nn.functional.silu(nn.functional.group_norm(
            nn.functional.conv2d(x, w["conv1.weight"], w["conv1.bias"], padding: [1, 1]), 8, w["norm1.weight"], w["norm1.bias"]));
        Tensor t = nn.functional.linear(nn.functional.silu(nn.functional.silu(temb)), w["time_emb_proj.1.weight"], w["time_emb_proj.1.bias"]);
        h = h + t.reshape(2, 16, 1, 1);
        h = nn.functional.silu(nn.functional.group_norm(
            nn.functional.conv2d(h, w["conv2.weight"], w["conv2.bias"], padding: [1, 1]), 8, w["norm2.weight"], w["norm2.bias"]));
        Tensor expected = h + nn.functional.conv2d(x, w["residual_conv.weight"], w["residual_conv.bias"]);

        Assert.True(block.call(x, temb).allclose(expected, rtol: 0, atol: 1e-6), "block differs from its formula"); // same ops: equal up to rounding
    }
}
