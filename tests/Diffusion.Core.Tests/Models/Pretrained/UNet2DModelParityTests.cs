using Diffusion.IO;
using Diffusion.Models;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models.Pretrained;

/// <summary>
/// diffusers' own <c>UNet2DModel</c> and ours, same weights, same inputs: each folder under
/// tests/reference/unet2d was written by tools/reference/unet2d.py (diffusers' config.json and weights, and
/// io.safetensors with the inputs and diffusers' outputs), and is opened here with <see cref="UNet2DModel.FromPretrained"/>.
/// </summary>
public sealed class UNet2DModelParityTests
{
    // Relative to the largest |output| of the reference. Both sides run the same float32 operations in the same
    // order, with different kernels: PyTorch 1.13's bmm + softmax against libtorch 2.10's
    // scaled_dot_product_attention, and convolutions and GroupNorm reductions that sum in another order (and
    // differently again on AVX2 and AVX-512 machines). Each op is off by a few float32 ulps (~2e-7 relative to its
    // output's scale); through the 20-60 layers of these models, with activations of order 1 and no
    // ill-conditioned step (GroupNorm divides by a standard deviation of order 1 here; the eps is 1e-5 or 1e-6),
    // the errors add up to some 1e-6 of the output's scale. 2e-5 leaves a factor of ten for other CPUs while a
    // wrong layer, key or constant moves the outputs by 1e-2 or more of their scale.
    private const double RelativeTolerance = 2e-5;

    internal static readonly string Dir = Path.Combine(TestEnvironment.ReferenceDir, "unet2d");

    public static TheoryData<string> Cases => new()
    {
        "attention", "ddpm_style", "scale_shift", "scale_shift_attn_groups", "fourier", "resnet_resample",
        "class_table", "class_timestep", "class_identity", "learned_no_mid", "flowers6",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputEqualsDiffusers(string name)
    {
        using var scope = NewDisposeScope();
        using UNet2DModel model = UNet2DModel.FromPretrained(Path.Combine(Dir, name));
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Dir, name, "io.safetensors"));
        io.TryGetValue("class_labels", out Tensor? labels);
        using var _ = no_grad();

        Tensor expected = io["output"];
        AssertClose(expected, model.Forward(io["sample"], io["timesteps"], labels), name + ", timestep vector");
        AssertClose(io["output_python_number"], model.Forward(io["sample"], 250.7, labels), name + ", number 250.7 (truncated to 250)");
        if (io.TryGetValue("timestep_0d", out Tensor? t0))
        {
            AssertClose(io["output_0d"], model.Forward(io["sample"], t0.reshape([]), labels), name + ", 0-d float timestep (fraction kept)");
        }
    }

    [Fact]
    public void FractionalTimestepReachesTheEmbedding()
    {
        // The number 250.7 is truncated, the 0-d tensor 250.7 is not: the reference outputs differ, and so do ours.
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Dir, "attention", "io.safetensors"));
        double difference = (io["output_0d"] - io["output_python_number"]).abs().max().item<float>();
        Assert.True(difference > 1e-4, $"reference outputs for t = 250.7 and 250 differ by only {difference:E2}");
    }

    internal static void AssertClose(Tensor expected, Tensor actual, string what) => ModelFolders.AssertClose(expected, actual, what, RelativeTolerance);
}
