using BenchmarkDotNet.Attributes;
using Diffusion.Benchmarks.Reporting;
using Diffusion.Models;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks;

/// <summary>
/// One <see cref="AutoencoderKL.Decode"/> at Stable Diffusion 1.5's VAE configuration (83.65 M parameters, random
/// weights: the speed does not depend on them), float32, no_grad: a 64×64 latent to a 512×512 image, and a 96×96
/// latent to a 768×768 image with tiling on (four 512×512 tiles blended). The Peak RSS column is the process's peak
/// resident memory during the case. Run one with <c>--filter *Decode512*</c>.
/// </summary>
[MemoryDiagnoser]
public class VaeDecodeBenchmarks
{
    private AutoencoderKL vae = null!;
    private Tensor latent64 = null!;
    private Tensor latent96 = null!;
    private string method = "";

    [GlobalSetup]
    public void Setup()
    {
        manual_seed(0);
        vae = new AutoencoderKL(StableDiffusion15, BenchmarkEnvironment.Device);
        vae.eval();
        latent64 = randn(1, 4, 64, 64).to(BenchmarkEnvironment.Device);
        latent96 = randn(1, 4, 96, 96).to(BenchmarkEnvironment.Device);
        CaseRecords.SetImages(this, nameof(Decode512), 1);
        CaseRecords.SetImages(this, nameof(TiledDecode768), 1);
        BenchmarkEnvironment.ResetPeakRss();
    }

    /// <summary>SD 1.5's <c>vae/config.json</c>.</summary>
    internal static AutoencoderKLConfig StableDiffusion15 { get; } = new()
    {
        BlockOutChannels = [128, 256, 512, 512],
        DownBlockTypes = ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
        UpBlockTypes = ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
        LayersPerBlock = 2,
        LatentChannels = 4,
        NormNumGroups = 32,
        SampleSize = 512,
    };

    /// <summary>A 64×64 latent to a 512×512 image.</summary>
    [Benchmark]
    public void Decode512()
    {
        method = nameof(Decode512);
        vae.UseTiling = false;
        vae.Decode(latent64).Dispose();
        BenchmarkEnvironment.Synchronize();
    }

    /// <summary>A 96×96 latent to a 768×768 image in four tiles of 64×64 latents.</summary>
    [Benchmark]
    public void TiledDecode768()
    {
        method = nameof(TiledDecode768);
        vae.UseTiling = true;
        vae.Decode(latent96).Dispose();
        BenchmarkEnvironment.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        CaseRecords.RecordMemory(this, method);
        latent64.Dispose();
        latent96.Dispose();
        vae.Dispose();
    }
}
