using Diffusion.IO;
using Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Tests.Models.Pretrained;

/// <summary>
/// diffusers' own <c>AutoencoderKL</c> and ours, same weights, same inputs: each folder under tests/reference/vae was
/// written by tools/reference/autoencoder_kl.py (diffusers' config.json and weights, and io.safetensors with the inputs
/// and diffusers' outputs), and is opened here with <see cref="AutoencoderKL.FromPretrained"/>.
/// </summary>
public sealed class AutoencoderKLParityTests
{
    // Relative to the largest |value| of the reference tensor. Both sides run the same float32 operations in the same
    // order with different kernels (PyTorch 1.13's bmm + softmax against libtorch 2.10's scaled_dot_product_attention;
    // convolutions and GroupNorm reductions that sum in another order, and differently again on AVX2 and AVX-512
    // CPUs). Each op is off by a few float32 ulps (~2e-7 of its output's scale). These models are 15-25 layers deep,
    // activations are of order 1, and no step is ill-conditioned: the GroupNorms divide by standard deviations of
    // order 1 (eps 1e-6), std = exp(logvar / 2) and var = exp(logvar) have condition number |logvar| / 2 and |logvar| < 2,
    // and the tile blending is a convex combination. Errors so add to ~1e-6 of the scale; 2e-5 leaves a factor of ten
    // for other CPUs, while a wrong layer, key, constant or norm moves outputs by 1e-2 of their scale or more.
    private const double RelativeTolerance = 2e-5;

    // The KL divergence sums 256 (8×8×4) non-negative terms mean² + var − 1 − logvar per image. Each term carries an
    // absolute error of a few ulps of 1 (~3e-7) plus |var − 1| ≤ 1 times logvar's own error (~1e-6 of its scale, which
    // is below 1 here): at most 256 × 1.3e-6 ≈ 3e-4 if every error had the same sign, ~2e-5 for random signs, against
    // sums of order 10 (reference largest 13 and 25), i.e. 3e-5 and 2e-6 relative. The same 2e-5 as above holds with
    // the factor of ten on the random-sign estimate. kl_other also divides by the other posterior's variance
    // (logvar ≥ −1 here, so var ≥ 0.37), which at most triples that.
    private const double KlRelativeTolerance = RelativeTolerance;

    internal static readonly string Dir = Path.Combine(TestEnvironment.ReferenceDir, "vae");

    public static TheoryData<string> Cases => new() { "kl_one_layer", "two_layers_no_quant" };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodeDecodeAndForwardEqualDiffusers(string name)
    {
        using var scope = NewDisposeScope();
        using AutoencoderKL vae = AutoencoderKL.FromPretrained(Path.Combine(Dir, name));
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Dir, name, "io.safetensors"));

        using (DiagonalGaussianDistribution posterior = vae.Encode(io["image"]))
        using (DiagonalGaussianDistribution other = vae.Encode(io["image"].flip(3)))
        {
            AssertClose(io["encode_mean"], posterior.Mean, name + ", encode mean");
            AssertClose(io["encode_std"], posterior.Std, name + ", encode std");
            AssertClose(io["encode_logvar"], posterior.LogVar, name + ", encode logvar");
            AssertClose(io["encode_var"], posterior.Var, name + ", encode var");
            AssertClose(io["encode_mean"], posterior.Mode(), name + ", mode");
            AssertClose(io["kl"], posterior.Kl(), name + ", kl", KlRelativeTolerance);
            AssertClose(io["kl_other"], posterior.Kl(other), name + ", kl to another posterior", KlRelativeTolerance);
        }

        AssertClose(io["decode"], vae.Decode(io["z"]), name + ", decode");
        AssertClose(io["forward"], vae.Forward(io["image"]), name + ", forward (posterior mode)");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SampledForwardDrawsDiffusersNoiseFromASeededCpuGenerator(string name)
    {
        // diffusers: vae(image, sample_posterior=True, generator=torch.Generator().manual_seed(123)); the noise is
        // torch.randn on the CPU generator, the same stream in PyTorch 1.13 and libtorch 2.10.
        using var scope = NewDisposeScope();
        using AutoencoderKL vae = AutoencoderKL.FromPretrained(Path.Combine(Dir, name));
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Dir, name, "io.safetensors"));
        using var generator = new Generator(123, CPU);
        Tensor sampled = vae.Forward(io["image"], samplePosterior: true, generator);
        AssertClose(io["forward_sampled"], sampled, name + ", forward with a sampled posterior");
        Assert.True((io["forward_sampled"] - io["forward"]).abs().max().item<float>() > 1e-2, "sampling must change the reconstruction");
    }

    [Fact]
    public void TiledEncodeAndDecodeEqualDiffusers()
    {
        // sample_size 16 and two levels: image tiles of 16 and latent tiles of 8 with a 1/4 overlap, so the 28×20 image
        // is cut into 3×2 tiles and the 14×10 latent into 3×2; the reference's tiled decode differs from the untiled
        // one by 0.93, so a test that skipped or misplaced a tile or a blend would fail.
        using var scope = NewDisposeScope();
        using AutoencoderKL vae = AutoencoderKL.FromPretrained(Path.Combine(Dir, "kl_one_layer"));
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Dir, "kl_one_layer", "io.safetensors"));
        Assert.Equal((16, 8), (vae.TileSampleMinSize, vae.TileLatentMinSize));
        vae.EnableTiling();
        using (DiagonalGaussianDistribution posterior = vae.Encode(io["tiled_image"]))
        {
            AssertClose(io["tiled_encode_mean"], posterior.Mean, "tiled encode mean");
            AssertClose(io["tiled_encode_std"], posterior.Std, "tiled encode std");
        }

        AssertClose(io["tiled_decode"], vae.Decode(io["tiled_z"]), "tiled decode");

        // slicing on top (one image at a time, each tiled) gives the same images
        vae.EnableSlicing();
        AssertClose(io["tiled_decode"], vae.Decode(io["tiled_z"]), "tiled and sliced decode");
        vae.DisableTiling();
        Assert.True((vae.Decode(io["tiled_z"]) - io["tiled_decode"]).abs().max().item<float>() > 0.1, "untiled decode must differ from the tiled one");
    }

    [Fact]
    public void SlicingGivesTheBatchResult()
    {
        using var scope = NewDisposeScope();
        using AutoencoderKL vae = AutoencoderKL.FromPretrained(Path.Combine(Dir, "kl_one_layer"));
        Dictionary<string, Tensor> io = SafeTensors.Load(Path.Combine(Dir, "kl_one_layer", "io.safetensors"));
        Tensor decoded = vae.Decode(io["z"]);
        Tensor mean;
        using (DiagonalGaussianDistribution posterior = vae.Encode(io["image"]))
        {
            mean = posterior.Mean.clone();
        }

        vae.UseSlicing = true;
        // One image at a time runs the same float32 operations per image; only a kernel's blocking over the batch could
        // change the last bits, hence the parity tolerance rather than exact equality.
        AssertClose(decoded, vae.Decode(io["z"]), "sliced decode");
        using DiagonalGaussianDistribution sliced = vae.Encode(io["image"]);
        AssertClose(mean, sliced.Mean, "sliced encode");
        AssertClose(io["decode"], vae.Decode(io["z"]), "sliced decode against diffusers");
    }

    [Fact]
    public void DecodeAndEncodeLeaveNoLiveTensorsBehind()
    {
        using AutoencoderKL vae = AutoencoderKL.FromPretrained(Path.Combine(Dir, "kl_one_layer"));
        using Tensor image = rand(2, 3, 20, 28) * 2 - 1;
        using Tensor z = randn(2, 4, 14, 10);
        vae.EnableTiling();
        vae.EnableSlicing();
        void Round()
        {
            vae.Decode(z).Dispose();
            vae.Forward(image, samplePosterior: true).Dispose();
            using DiagonalGaussianDistribution posterior = vae.Encode(image);
            posterior.Kl().Dispose();
        }

        Round(); // warm-up: lazily created tensors
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++)
        {
            Round();
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    internal static void AssertClose(Tensor expected, Tensor actual, string what, double relativeTolerance = RelativeTolerance) =>
        ModelFolders.AssertClose(expected, actual, what, relativeTolerance);
}
