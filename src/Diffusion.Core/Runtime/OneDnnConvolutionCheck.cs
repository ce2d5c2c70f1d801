using System.Runtime.InteropServices;

namespace Diffusion.Runtime;

/// <summary>
/// A known-answer test of libtorch's CPU convolutions, run once when libtorch is first loaded, that turns
/// oneDNN off for the process when its convolutions compute wrong results on this machine.
/// </summary>
/// <remarks>
/// <para>
/// Measured on a 2-core AMD EPYC virtual machine (CPU family 26, AVX-512 and AVX512-BF16, no AMX): the
/// oneDNN 3.7.1 inside libtorch 2.10 returns garbage or NaN for every 3×3 float32 convolution whose input
/// channel count is not a multiple of its vector block (16 with AVX-512 kernels; 8 when
/// <c>ONEDNN_MAX_CPU_ISA=AVX2</c>), e.g. 24 channels; <c>ONEDNN_MAX_CPU_ISA=SSE41</c> and libtorch's own
/// convolution are correct, and the same binaries are correct on Intel Xeon (AVX-512 + AMX) machines.
/// A model with such a layer silently gives wrong images there. libtorch's convolution without oneDNN
/// (im2col + GEMM) was about 13 % slower on a 128-channel 3×3 convolution on that machine, and a float32 training step of
/// the flower sample's U-Net took 1.4× as long; bfloat16 convolutions without oneDNN are far slower still.
/// </para>
/// <para>
/// The test convolves a fixed 20-channel input (not a multiple of 8 or 16, so it takes the tail path of
/// both block sizes) with a fixed 3×3 kernel in float32 and compares with the same convolution in float64.
/// Each output sums 180 products of values in [-1, 1]; float32 accumulation keeps the error below
/// 180 · 2⁻²⁴ · Σ|xw| ≈ 1e-5 · Σ|xw| on any x86-64 kernel, so the bound 1e-3 · (1 + Σ|xw|) passes every
/// correct kernel with two orders of magnitude to spare, while the broken kernels miss by O(1) or give NaN.
/// A third check takes the input gradient of a 3×3 convolution with 16 input and 20 output channels the same way: with
/// oneDNN on, that machine also got the input gradients of convolutions with such output channel counts wrong
/// (docs/faq.md has the whole probe). The inputs are built without random numbers, so the check never moves libtorch's
/// global generator.
/// </para>
/// </remarks>
internal static class OneDnnConvolutionCheck
{
    private const int Channels = 20;

    /// <summary>Runs the check; returns null when convolutions are correct, or what was done about them.</summary>
    /// <exception cref="TorchRuntimeException">Convolutions are wrong and oneDNN could not be turned off.</exception>
    public static string? Run()
    {
        if (Environment.GetEnvironmentVariable("DIFFUSION_ONEDNN_CHECK") == "0")
        {
            return null;
        }

        if (ConvolutionsAreCorrect())
        {
            return null;
        }

        if (!TryDisableOneDnn())
        {
            throw new TorchRuntimeException(
                "libtorch's oneDNN convolutions give wrong results on this CPU (a known-answer 3×3 convolution with 20 input " +
                "channels, or the input gradient of one with 20 output channels, missed its float64 value), and oneDNN could not be turned off from .NET on this platform. " +
                "Start the process with ONEDNN_MAX_CPU_ISA=SSE41 set, or set DIFFUSION_ONEDNN_CHECK=0 to run anyway. " +
                "See docs/faq.md.");
        }

        if (!ConvolutionsAreCorrect())
        {
            throw new TorchRuntimeException(
                "libtorch's CPU convolutions give wrong results on this CPU even with oneDNN turned off (a known-answer 3×3 " +
                "convolution with 20 input channels, or the input gradient of one with 20 output channels, missed its float64 value). Set DIFFUSION_ONEDNN_CHECK=0 to run anyway.");
        }

        return "libtorch's oneDNN convolutions gave wrong results on this CPU (a known-answer 3×3 convolution with 20 input " +
               "channels, or the input gradient of one with 20 output channels, missed its float64 value), so oneDNN (and NNPACK with it) is turned off for this process: convolutions use libtorch's own " +
               "kernels (correct, but slower: a small U-Net's float32 training step took 1.4× as long where this was found). See docs/faq.md.";
    }

    // The broken kernels were right for a single small image and wrong for a batch of two or a 32×32 image:
    // both shapes are checked (about a millisecond in all).
    // Backward runs the convolution the other way round: the same machine also got the input gradient of 3×3
    // convolutions wrong whenever their output channel count was not a multiple of 16 (every model's last layer has 3 or
    // 4), so that is checked too, in case a CPU gets forwards right and only the gradient wrong.
    private static bool ConvolutionsAreCorrect() =>
        ConvolutionIsCorrect(batch: 2, size: 8) && ConvolutionIsCorrect(batch: 1, size: 32) && InputGradientIsCorrect();

    private static bool ConvolutionIsCorrect(int batch, int size)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Fixed, non-trivial values in [-1, 1] from sines of distinct frequencies (no generator involved).
        Tensor input = arange(batch * Channels * size * size, float64).mul(0.37).sin().reshape(batch, Channels, size, size);
        Tensor weight = arange(4 * Channels * 9, float64).mul(0.61).add(0.3).cos().reshape(4, Channels, 3, 3);
        Tensor expected = ReferenceConvolution(input, weight);
        Tensor bound = ReferenceConvolution(input.abs(), weight.abs()).add(1).mul(1e-3);
        Tensor actual = nn.functional.conv2d(input.to(float32), weight.to(float32), padding: [1, 1]).to(float64);
        Tensor error = (actual - expected).abs();
        // NaN compares false, so a NaN anywhere makes the check fail.
        return error.le(bound).all().item<bool>();
    }

    // The input gradient of a 3×3 convolution with 16 input and 20 output channels for a fixed upstream gradient g, in
    // float32 through libtorch's convolution backward, against float64 autograd through the reference. Each element sums
    // 20 · 9 = 180 products of values in [-1, 1], so the forward's bound argument holds with Σ|g·w| in place of Σ|x·w|.
    private static bool InputGradientIsCorrect()
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        const int InputChannels = 16, OutputChannels = 20, Batch = 2, Size = 8;
        Tensor input = arange(Batch * InputChannels * Size * Size, float64).mul(0.41).sin().reshape(Batch, InputChannels, Size, Size);
        Tensor weight = arange(OutputChannels * InputChannels * 9, float64).mul(0.57).add(0.2).cos().reshape(OutputChannels, InputChannels, 3, 3);
        Tensor upstream = arange(Batch * OutputChannels * Size * Size, float64).mul(0.23).cos().reshape(Batch, OutputChannels, Size, Size);

        Tensor x32 = input.to(float32).requires_grad_(true);
        nn.functional.conv2d(x32, weight.to(float32), padding: [1, 1]).mul(upstream.to(float32)).sum().backward();
        Tensor x64 = input.clone().requires_grad_(true);
        ReferenceConvolution(x64, weight).mul(upstream).sum().backward();
        Tensor xAbs = input.clone().requires_grad_(true);
        ReferenceConvolution(xAbs, weight.abs()).mul(upstream.abs()).sum().backward(); // Σ|g·w| per input element

        Tensor error = (x32.grad!.to(float64) - x64.grad!).abs();
        return error.le(xAbs.grad!.add(1).mul(1e-3)).all().item<bool>();
    }

    // The float64 reference as nine shifted channel contractions, not conv2d: a float64 convolution asks libtorch's
    // backend choice about NNPACK, which warns on a CPU where NNPACK cannot start, before the check can turn it off.
    private static Tensor ReferenceConvolution(Tensor input, Tensor weight)
    {
        long height = input.shape[2], width = input.shape[3];
        Tensor padded = nn.functional.pad(input, [1, 1, 1, 1]);
        Tensor sum = zeros([input.shape[0], weight.shape[0], height, width], float64);
        for (int dy = 0; dy < 3; dy++)
        {
            for (int dx = 0; dx < 3; dx++)
            {
                Tensor window = padded.narrow(2, dy, height).narrow(3, dx, width);          // [N, C, H, W]
                sum = sum + einsum("nchw,oc->nohw", window, weight[.., .., dy, dx]);       // [N, O, H, W]
            }
        }

        return sum;
    }

    private static bool TryDisableOneDnn()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return false; // the entry points below are Itanium C++ names; MSVC mangles differently.
        }

        try
        {
            nint context = NativeMethods.GlobalContext();
            NativeMethods.SetUserEnabledMkldnn(context, false);
            DisableNnpack(context);
            return !NativeMethods.UserEnabledMkldnn(context);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    // Without oneDNN, libtorch's CPU convolution tries NNPACK first. Where this was found NNPACK could not start
    // ("Could not initialize NNPACK! Reason: Unsupported hardware") and libtorch printed that warning at every
    // convolution, about 25 lines a second in the flower sample, before falling back to its own kernels anyway. The
    // fallback is what runs either way, so NNPACK goes off with oneDNN; a libtorch without the entry point keeps it.
    private static void DisableNnpack(nint context)
    {
        try
        {
            NativeMethods.SetUserEnabledNnpack(context, false);
        }
        catch (EntryPointNotFoundException)
        {
        }
    }

    /// <summary>libtorch's <c>at::globalContext().setUserEnabledMkldnn(bool)</c> and <c>setUserEnabledNNPACK(bool)</c>,
    /// which TorchSharp does not expose.</summary>
    private static class NativeMethods
    {
        private const string LibTorchCpu = "libtorch_cpu";

        [DllImport(LibTorchCpu, EntryPoint = "_ZN2at13globalContextEv")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern nint GlobalContext();

        [DllImport(LibTorchCpu, EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern void SetUserEnabledMkldnn(nint context, [MarshalAs(UnmanagedType.U1)] bool enabled);

        [DllImport(LibTorchCpu, EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern void SetUserEnabledNnpack(nint context, [MarshalAs(UnmanagedType.U1)] bool enabled);

        [DllImport(LibTorchCpu, EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        [return: MarshalAs(UnmanagedType.U1)]
        internal static extern bool UserEnabledMkldnn(nint context);
    }
}
