using Diffusion.IO;
using Diffusion.Models;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models;

/// <summary>
/// The book's PyTorch model and ours, same weights, same input (tests/reference/unet/small_*.safetensors,
/// made by tools/reference/unet_reference.py: hidden dims [8, 16, 24, 32], 16×16, batch 2).
/// </summary>
public sealed class UNetParityTests
{
    // Same float32 operations in the same order, but different kernels (PyTorch 1.13 einsum + softmax vs
    // libtorch 2.10 scaled_dot_product_attention; convolution and GroupNorm reductions in another
    // order): each op differs by a few float32 ulps (~1e-7 relative). Through ~40 layers with outputs of
    // order 1 (std 0.3) that grows to about 1e-6 (measured: 1.0e-6 max, 1.4e-7 mean). 1e-5 absolute
    // leaves room for other CPUs' kernels without hiding a wrong layer, which moves outputs by 1e-2 or more.
    private const float Tolerance = 1e-5f;

    private static readonly string Dir = Path.Combine(TestEnvironment.ReferenceDir, "unet");

    private static UNet LoadReferenceModel()
    {
        var unet = new UNet(new UNetOptions { HiddenDims = [8, 16, 24, 32], ImageSize = 16 });
        unet.LoadSafeTensors(Path.Combine(Dir, "small_weights.safetensors"), strict: true);
        unet.eval();
        return unet;
    }

    [Fact]
    public void OutputEqualsTheBooksModel()
    {
        using var scope = NewDisposeScope();
        using UNet unet = LoadReferenceModel();
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Dir, "small_io.safetensors"));
        using var _ = no_grad();
        Tensor actual = unet.call(io["sample"], io["timesteps"]);
        Tensor expected = io["output"];
        Assert.Equal(expected.shape, actual.shape);
        float maxError = (actual - expected).abs().max().item<float>();
        Assert.True(maxError <= Tolerance, $"max |ours - book| = {maxError:E2} > {Tolerance:E0}");
    }

    [Fact]
    public void ScalarTimestepIsBroadcastLikeTheBook()
    {
        using var scope = NewDisposeScope();
        using UNet unet = LoadReferenceModel();
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Dir, "small_io.safetensors"));
        using var _ = no_grad();
        Tensor expected = io["output_scalar_timestep"];
        foreach (Tensor t in new[] { tensor(411L), tensor(new long[] { 411 }), tensor(411f) })
        {
            Tensor actual = unet.call(io["sample"], t);
            float maxError = (actual - expected).abs().max().item<float>();
            Assert.True(maxError <= Tolerance, $"timesteps {t.dtype} [{string.Join(",", t.shape)}]: max error {maxError:E2}");
        }
    }
}
