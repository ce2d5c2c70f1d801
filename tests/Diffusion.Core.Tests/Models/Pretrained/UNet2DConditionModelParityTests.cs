using Diffusion.IO;
using Diffusion.Models;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models.Pretrained;

/// <summary>
/// diffusers' own <c>UNet2DConditionModel</c> and ours, same weights, same inputs: each folder under
/// tests/reference/unet2dcond was written by tools/reference/unet2d_condition.py (diffusers' config.json and weights,
/// and io.safetensors with the inputs and diffusers' outputs) and is opened here with
/// <see cref="UNet2DConditionModel.FromPretrained"/>. Cases: "sd1" (1×1-convolution projections, one head count for
/// every level), "sd2" (linear projections, upcast attention, head counts per level, two transformer blocks in one
/// level), "variants" (only_cross_attention per level, no middle block, 7×5 latents that need the up path told the
/// skips' sizes, scale-shift residuals, mish, time_embedding_dim, 1×1 and 5×5 conv_in/conv_out, a head count that does
/// not divide the channels).
/// </summary>
public sealed class UNet2DConditionModelParityTests
{
    // Relative to the largest |output| of the reference. Both sides run the same float32 operations in the same order
    // with different kernels: PyTorch 1.13's classic attention (baddbmm, softmax, bmm) against libtorch 2.10's
    // scaled_dot_product_attention, and convolutions, GroupNorm and LayerNorm reductions that sum in another order (and
    // differently again on AVX2 and AVX-512 machines). Each op is off by a few float32 ulps (~2e-7 relative to its output's
    // scale). These models have some 60-90 layers in sequence (each transformer: GroupNorm, projection, 3 × (LayerNorm,
    // attention or GEGLU), projection), activations of order 1 and no ill-conditioned step: the norms divide by standard
    // deviations of order 1 (eps 1e-5/1e-6), the softmax of scores of order 1 has a condition number near 1, and the
    // masked keys' −10000 bias gives weights of exactly 0 on both sides (exp(−10000) underflows). The errors add up to a
    // few 1e-6 of the output's scale; 2e-5 leaves a factor of about five for other CPUs, while a wrong layer, key, mask or
    // constant moves the outputs by 1e-2 or more of their scale (the mask alone moves them by 0.09-0.17, see the script's log).
    private const double RelativeTolerance = 2e-5;

    internal static readonly string Dir = Path.Combine(TestEnvironment.ReferenceDir, "unet2dcond");

    public static TheoryData<string> Cases => new() { "sd1", "sd2", "variants" };

    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputEqualsDiffusers(string name)
    {
        using var scope = NewDisposeScope();
        using UNet2DConditionModel model = UNet2DConditionModel.FromPretrained(Path.Combine(Dir, name));
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Dir, name, "io.safetensors"));
        Tensor sample = io["sample"], text = io["encoder_hidden_states"], t = io["timesteps"], mask = io["encoder_attention_mask"];
        using var _ = no_grad();

        AssertClose(io["output"], model.call(sample, t, text), name + ", int64 timesteps");
        AssertClose(io["output_mask"], model.Forward(sample, t, text, mask), name + ", int64 timesteps, encoder attention mask");
        AssertClose(io["output_mask"], model.Forward(sample, t, text, mask.to(ScalarType.Bool)), name + ", bool mask");
        AssertClose(io["output_frac"], model.call(sample, io["timesteps_frac"], text), name + ", float timesteps [250.7, 3.25]");
        AssertClose(io["output_number"], model.Forward(sample, 250.7, text), name + ", the number 250.7 (kept fractional)");
    }

    [Fact]
    public void ZeroDimensionalTimestepIsUsedForTheWholeBatch()
    {
        using var scope = NewDisposeScope();
        using UNet2DConditionModel model = UNet2DConditionModel.FromPretrained(Path.Combine(Dir, "sd1"));
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Dir, "sd1", "io.safetensors"));
        using var _ = no_grad();
        Tensor zeroDim = model.call(io["sample"], tensor(250.7f).to(ScalarType.Float64), io["encoder_hidden_states"]);
        AssertClose(io["output_number"], zeroDim, "0-d float64 tensor 250.7");
    }

    [Fact]
    public void MaskAndFractionChangeTheReferenceOutputs()
    {
        // The cases could not tell a dropped mask or a truncated timestep if the reference outputs did not differ.
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Dir, "sd1", "io.safetensors"));
        Assert.True((io["output_mask"] - io["output"]).abs().max().item<float>() > 1e-2);
        using UNet2DConditionModel model = UNet2DConditionModel.FromPretrained(Path.Combine(Dir, "sd1"));
        using var _ = no_grad();
        Tensor truncated = model.Forward(io["sample"], 250.0, io["encoder_hidden_states"]);
        Assert.True((truncated - io["output_number"]).abs().max().item<float>() > 1e-4);
    }

    internal static void AssertClose(Tensor expected, Tensor actual, string what) => ModelFolders.AssertClose(expected, actual, what, RelativeTolerance);
}
