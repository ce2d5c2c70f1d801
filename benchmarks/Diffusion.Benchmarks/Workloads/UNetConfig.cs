namespace Diffusion.Benchmarks.Workloads;

/// <summary>The U-Net shapes the benchmarks time (issue 9).</summary>
public enum UNetConfig
{
    /// <summary>The book: [128, 256, 512, 1024] at 64×64, batch 1 (133.4 M parameters).</summary>
    Book,

    /// <summary>[64, 128, 256, 512] at 64×64, batch 4 (33.6 M parameters): the PyTorch comparison's shape.</summary>
    Medium,

    /// <summary>[32, 64, 128, 256] at 32×32, batch 8 (8.5 M parameters): the CPU training default.</summary>
    Small,
}
