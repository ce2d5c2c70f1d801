using System.Globalization;
using Diffusion.Benchmarks.Workloads;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks.Compare;

/// <summary>Command-line options of <see cref="CompareCommand"/>.</summary>
internal sealed record CompareOptions
{
    public const string Usage =
        "usage: compare --mode forward|train|sample|peak [--model book|unet2d|unet2dcond] [--hidden-dims 64,128,256,512] [--image-size 64] [--batch 4] " +
        "[--threads 1] [--steps 5] [--warmup 2] [--dtype float32|bfloat16] [--weights DIR] [--malloc keep|default] [--size 2048] [--cpu]";

    public string Mode { get; init; } = "forward";

    /// <summary>book: the book's UNet (--hidden-dims, --image-size); unet2d: UNet2DModel at google/ddpm-cifar10-32; unet2dcond: UNet2DConditionModel at a quarter of SD 1.5's widths (--weights: a diffusers folder).</summary>
    public string Model { get; init; } = "book";

    public int[] HiddenDims { get; init; } = [64, 128, 256, 512];

    public int ImageSize { get; init; } = 64;

    public int Batch { get; init; } = 4;

    public int Threads { get; init; } = 1;

    public int Steps { get; init; } = 5;

    public int Warmup { get; init; } = 2;

    public ScalarType DType { get; init; } = ScalarType.Float32;

    public string? Weights { get; init; }

    public bool KeepFreedMemory { get; init; } = true;

    public int Size { get; init; } = 2048;

    public bool CpuOnly { get; init; }

    public static CompareOptions Parse(IReadOnlyList<string> args)
    {
        var o = new CompareOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (name == "--cpu")
            {
                o = o with { CpuOnly = true };
                continue;
            }

            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"{name} needs a value.");
            }

            string value = args[++i];
            o = name switch
            {
                "--mode" => o with { Mode = value },
                "--model" => o with { Model = value is "book" or "unet2d" or "unet2dcond" ? value : throw new ArgumentException($"--model must be book, unet2d or unet2dcond; got '{value}'.") },
                "--hidden-dims" => o with { HiddenDims = UNetShape.ParseDims(value) },
                "--image-size" => o with { ImageSize = Int(name, value) },
                "--batch" => o with { Batch = Int(name, value) },
                "--threads" => o with { Threads = Int(name, value) },
                "--steps" => o with { Steps = Int(name, value) },
                "--warmup" => o with { Warmup = Int(name, value) },
                "--dtype" => o with { DType = value switch
                {
                    "float32" => ScalarType.Float32,
                    "bfloat16" => ScalarType.BFloat16,
                    _ => throw new ArgumentException($"--dtype must be float32 or bfloat16; got '{value}'."),
                } },
                "--weights" => o with { Weights = value },
                "--malloc" => o with { KeepFreedMemory = value switch
                {
                    "keep" => true,
                    "default" => false,
                    _ => throw new ArgumentException($"--malloc must be keep or default; got '{value}'."),
                } },
                "--size" => o with { Size = Int(name, value) },
                _ => throw new ArgumentException($"unknown option '{name}'."),
            };
        }

        return o;
    }

    private static int Int(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 0
            ? n
            : throw new ArgumentException($"{name} must be a non-negative integer; got '{value}'.");
}
