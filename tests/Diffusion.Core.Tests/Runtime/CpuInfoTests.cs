using Diffusion.Runtime;

namespace Diffusion.Tests.Runtime;

public sealed class CpuInfoTests
{
    // Abridged /proc/cpuinfo texts (the keys and flags as Linux 6.x prints them); two processors each, the
    // second's lines must not override the first's.
    private const string SapphireRapids = """
        processor	: 0
        vendor_id	: GenuineIntel
        model name	: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
        flags		: fpu vme sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16 avx512_vnni amx_bf16 avx512_fp16 amx_tile amx_int8

        processor	: 1
        model name	: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
        flags		: fpu
        """;

    private const string EpycAvx2Only = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse sse2 avx fma avx2 bmi2\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse sse2 avx fma avx2 bmi2\n";

    private const string EpycZen4 = "model name\t: AMD EPYC 9B14 96-Core Processor\nflags\t\t: avx2 avx512f avx512_bf16 avx512_vnni\n";

    private const string Arm = "processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics bf16\nCPU implementer\t: 0x41\n";

    [Fact]
    public void AnIntelXeonWithAmxHasEveryFeatureAndFastBFloat16()
    {
        CpuInfo cpu = CpuInfo.Parse(SapphireRapids, 2);

        Assert.Equal("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", cpu.ModelName);
        Assert.Equal((true, true, true, true), (cpu.Avx2, cpu.Avx512, cpu.Avx512BFloat16, cpu.AmxBFloat16));
        Assert.True(cpu.HasFastBFloat16);
        Assert.Equal("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz (AVX2, AVX-512, AVX512-BF16, AMX-BF16), 2 logical processors", cpu.ToString());
    }

    [Fact]
    public void AnAvx2OnlyEpycHasNoFastBFloat16()
    {
        CpuInfo cpu = CpuInfo.Parse(EpycAvx2Only, 2);

        Assert.Equal("AMD EPYC 7B13", cpu.ModelName);
        Assert.Equal((true, false, false, false), (cpu.Avx2, cpu.Avx512, cpu.Avx512BFloat16, cpu.AmxBFloat16));
        Assert.False(cpu.HasFastBFloat16);
        Assert.Equal("AMD EPYC 7B13 (AVX2), 2 logical processors", cpu.ToString());
    }

    [Fact]
    public void Avx512Bf16WithoutAmxCountsAsFastBFloat16()
    {
        CpuInfo cpu = CpuInfo.Parse(EpycZen4, 1);

        Assert.Equal("AVX2, AVX-512, AVX512-BF16", cpu.VectorFeatures);
        Assert.True(cpu.HasFastBFloat16);
        Assert.EndsWith("), 1 logical processor", cpu.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Arm)]
    [InlineData("")]
    [InlineData("garbage without colons\n\n")]
    public void TextWithoutAModelNameOrX86FlagsGivesUnknownAndNoFeatures(string text)
    {
        CpuInfo cpu = CpuInfo.Parse(text, 4);

        Assert.Equal(CpuInfo.UnknownModel, cpu.ModelName);
        Assert.Equal("no AVX2", cpu.VectorFeatures);
        Assert.False(cpu.HasFastBFloat16);
        Assert.Equal(4, cpu.LogicalProcessors);
    }

    [Fact]
    public void FlagNamesMustMatchWhole()
    {
        // "avx512_bf16x" or "pre_amx_bf16" are not the flags; only whole words count.
        CpuInfo cpu = CpuInfo.Parse("flags : avx2x avx512f_old avx512_bf16x pre_amx_bf16\n", 1);

        Assert.Equal((false, false, false, false), (cpu.Avx2, cpu.Avx512, cpu.Avx512BFloat16, cpu.AmxBFloat16));
    }

    [Fact]
    public void TwoDescriptionsOfTheSameCpuAreEqual()
    {
        const string Epyc = "model name : AMD EPYC 7B13\nflags : avx2\n";

        Assert.Equal(CpuInfo.Parse(Epyc, 2), CpuInfo.Parse(Epyc, 2));
        Assert.NotEqual(CpuInfo.Parse(Epyc, 2), CpuInfo.Parse(Epyc, 4));
        Assert.Equal(CpuInfo.Parse(Epyc, 2), CpuInfo.Parse(Epyc + "flags : avx2 avx512f\n", 2)); // only the first flags line counts
        Assert.NotEqual(CpuInfo.Parse(Epyc, 2), CpuInfo.Parse("model name : AMD EPYC 7B13\nflags : avx2 avx512f\n", 2));
    }

    [Fact]
    public void BadArgumentsAreRefused()
    {
        Assert.Throws<ArgumentNullException>(() => CpuInfo.Parse(null!, 1));
        Assert.Equal("logicalProcessors", Assert.Throws<ArgumentOutOfRangeException>(() => CpuInfo.Parse(string.Empty, 0)).ParamName);
    }

    [Fact]
    public void TheCurrentCpuAgreesWithDotNetsOwnChecks()
    {
        CpuInfo cpu = CpuInfo.Current;

        Assert.Same(cpu, CpuInfo.Current);
        Assert.Equal(Environment.ProcessorCount, cpu.LogicalProcessors);
        Assert.False(string.IsNullOrWhiteSpace(cpu.ModelName));
        Assert.True(cpu.Avx2 || !System.Runtime.Intrinsics.X86.Avx2.IsSupported);
        Assert.True(cpu.Avx512 || !System.Runtime.Intrinsics.X86.Avx512F.IsSupported);
        if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
        {
            Assert.Equal(CpuInfo.Parse(File.ReadAllText("/proc/cpuinfo"), 1).AmxBFloat16, cpu.AmxBFloat16);
        }
    }
}
