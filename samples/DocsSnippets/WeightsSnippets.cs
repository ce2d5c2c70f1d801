using Diffusion.IO;
using Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.DocsSnippets;

/// <summary>docs/weights.md.</summary>
internal static class WeightsSnippets
{
    public static void Dictionary()
    {
        // <snippet:weights-dictionary>
        Dictionary<string, Tensor> tensors = SafeTensors.Load("model.safetensors");  // CPU tensors, yours to dispose
        try
        {
            foreach ((string name, Tensor value) in tensors)
            {
                Console.WriteLine($"{name}: {value.dtype} [{string.Join(", ", value.shape)}]");
            }

            // Rename keys, drop a prefix, convert dtypes… then write a new file (atomically).
            var renamed = tensors.ToDictionary(kv => kv.Key.Replace("module.", "", StringComparison.Ordinal), kv => kv.Value);
            SafeTensors.Save(renamed, "renamed.safetensors", new Dictionary<string, string> { ["source"] = "model.safetensors" });
        }
        finally
        {
            foreach (Tensor t in tensors.Values)
            {
                t.Dispose();
            }
        }
        // </snippet>
    }

    public static void BookPth()
    {
        // <snippet:weights-book-pth>
        using var unet = new UNet(new UNetOptions { HiddenDims = [128, 256, 512, 1024], ImageSize = 64 });
        unet.LoadTorchStateDict("files/diffusion.pth");   // strict: all 196 keys, shapes checked, as LoadSafeTensors
        unet.eval();
        // </snippet>
    }

    public static void ReadPyTorch()
    {
        // <snippet:weights-read-pytorch>
        Dictionary<string, Tensor> state = TorchPickle.ReadStateDict("diffusion_pytorch_model.bin"); // CPU tensors, yours to dispose
        try
        {
            SafeTensors.Save(state, "diffusion_pytorch_model.safetensors");                           // convert once, if you like
        }
        finally
        {
            foreach (Tensor t in state.Values)
            {
                t.Dispose();
            }
        }
        // </snippet>
    }

    public static void NonStrict()
    {
        // <snippet:weights-non-strict>
        using var unet = new UNet(new UNetOptions { HiddenDims = [64, 128, 256, 512], ImageSize = 64 });
        SafeTensorsLoadResult result = unet.LoadSafeTensors("partial.safetensors", strict: false);
        Console.WriteLine($"missing: {string.Join(", ", result.MissingKeys)}; unused: {string.Join(", ", result.UnexpectedKeys)}");
        // </snippet>
    }

    public static void Header()
    {
        // <snippet:weights-header>
        SafeTensorsHeader header = SafeTensors.ReadHeader("unet-ema/diffusion_pytorch_model.safetensors"); // no tensor data read
        foreach (SafeTensorsEntry entry in header.Entries)
        {
            Console.WriteLine($"{entry.Name} {entry.DType} [{string.Join(", ", entry.Shape)}]");
        }

        string? checksum = header.Metadata.GetValueOrDefault("diffusion.data_sha256"); // the SHA-256 the library records on save
        // </snippet>
    }
}
