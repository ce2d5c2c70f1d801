using System.Text;
using Diffusion.Runtime;

namespace Diffusion.Tests;

/// <summary>The build's Debian 12 fix (build/Diffusion.Net.targets) and the library's explanation.</summary>
public sealed class DebianLibStdCxxFixTests
{
    private const ushort VerFlgWeak = 0x2;

    private static string OutputCopy => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [SkippableFact]
    public void OutputCopyIsWeakExactlyWhenTheSystemLibStdCxxIsOld()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists(OutputCopy), "the libLibTorchSharp.so patch applies to Linux x64 builds only");
        string systemLib = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        Skip.IfNot(File.Exists(systemLib), $"no system libstdc++ at {systemLib}");

        bool systemHasVersion = Contains(File.ReadAllBytes(systemLib), TorchRuntime.RequiredGlibcxxVersion);
        ushort? flags = VersionNeedFlags(File.ReadAllBytes(OutputCopy), TorchRuntime.RequiredGlibcxxVersion);

        Assert.NotNull(flags); // TorchSharp 0.107 does ask for the version
        Assert.Equal(!systemHasVersion, (flags.Value & VerFlgWeak) != 0);
    }

    [SkippableFact]
    public void NuGetCacheCopyIsNeverPatched()
    {
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string original = Path.Combine(cache, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Skip.IfNot(File.Exists(original), $"TorchSharp is not in the NuGet cache at {original}");

        ushort? flags = VersionNeedFlags(File.ReadAllBytes(original), TorchRuntime.RequiredGlibcxxVersion);
        Assert.NotNull(flags);
        Assert.Equal(0, flags.Value & VerFlgWeak);
    }

    [Fact]
    public void ExplanationOfALoadFailureNamesTheCauseAndTheFix()
    {
        var failure = new TypeInitializationException("TorchSharp.torch", new NotSupportedException("doesn't contain a reference to libtorch-cpu-linux-x64\nmore"));
        string message = TorchRuntime.Explain(failure);
        if (OperatingSystem.IsLinux() && File.Exists("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")
            && !Contains(File.ReadAllBytes("/usr/lib/x86_64-linux-gnu/libstdc++.so.6"), TorchRuntime.RequiredGlibcxxVersion))
        {
            Assert.Contains("GLIBCXX_3.4.32", message, StringComparison.Ordinal);
            Assert.Contains("docs/debian12.md", message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("doesn't contain a reference to libtorch-cpu-linux-x64", message, StringComparison.Ordinal);
            Assert.DoesNotContain("more", message, StringComparison.Ordinal);
        }
    }

    private static bool Contains(byte[] data, string text) =>
        data.AsSpan().IndexOf([.. Encoding.ASCII.GetBytes(text), (byte)0]) >= 0;

    // Reads vna_flags of the version-need entry named `version` from a 64-bit little-endian ELF file.
    private static ushort? VersionNeedFlags(byte[] elf, string version)
    {
        long shoff = (long)BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A);
        int shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int s = 0; s < shnum; s++)
        {
            int sh = (int)(shoff + s * shentsize);
            if (BitConverter.ToUInt32(elf, sh + 4) != 0x6ffffffe)
            {
                continue;
            }

            int offset = (int)BitConverter.ToUInt64(elf, sh + 0x18);
            int link = (int)BitConverter.ToUInt32(elf, sh + 0x28);
            uint count = BitConverter.ToUInt32(elf, sh + 0x2C);
            int strtab = (int)BitConverter.ToUInt64(elf, (int)(shoff + link * shentsize) + 0x18);
            int need = offset;
            for (uint n = 0; n < count; n++)
            {
                int aux = need + (int)BitConverter.ToUInt32(elf, need + 8);
                for (int a = 0; a < BitConverter.ToUInt16(elf, need + 2); a++)
                {
                    int name = strtab + (int)BitConverter.ToUInt32(elf, aux + 8);
                    int end = Array.IndexOf(elf, (byte)0, name);
                    if (Encoding.ASCII.GetString(elf, name, end - name) == version)
                    {
                        return BitConverter.ToUInt16(elf, aux + 4);
                    }

                    aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                }

                need += (int)BitConverter.ToUInt32(elf, need + 12);
            }
        }

        return null;
    }
}
