using Diffusion.Runtime;
using static TorchSharp.torch;

namespace Diffusion.Tests.Runtime;

public sealed class GlibcAllocatorTests
{
    [SkippableFact]
    public void GlibcAcceptsTheSettingsAndTensorsStillWork()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/usr/lib/x86_64-linux-gnu/libc.so.6"), "mallopt is glibc's (Linux x64 here)");
        Assert.True(GlibcAllocator.KeepFreedMemory());
        using var scope = NewDisposeScope();
        Assert.Equal(4096f, ones(64, 64).sum().item<float>());
    }
}
