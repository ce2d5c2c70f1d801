using BenchmarkDotNet.Attributes;
using Diffusion.Benchmarks.Reporting;
using Diffusion.Clip;
using Diffusion.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Benchmarks;

/// <summary>
/// CLIP inference: <see cref="ClipModel.EncodeImages(Tensor)"/> (preprocessing included) and
/// <see cref="ClipModel.EncodeTexts"/> (tokenizing included) for 16 inputs, with a tokenizer built from
/// <see cref="ProceduralFlowers"/> captions. Weights are random: the speed does not depend on them.
/// </summary>
[MemoryDiagnoser]
public class ClipBenchmarks
{
    private const int Count = 16;
    private ClipModel model = null!;
    private Tensor images = null!;
    private string[] texts = null!;
    private string method = "";

    /// <summary>The model's shape.</summary>
    [Params(ClipSize.Tiny, ClipSize.VitB32)]
    public ClipSize Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkEnvironment.ResetPeakRss();
        var flowers = new ProceduralFlowers(256, 32, seed: 0);
        texts = [.. Enumerable.Range(0, Count).Select(i => flowers.Describe(i).Caption)];
        ClipTokenizer tokenizer = ClipTokenizer.FromCorpus(Enumerable.Range(0, 256).Select(i => flowers.Describe(i).Caption), contextLength: 77);
        ClipConfig config = Size == ClipSize.Tiny ? ClipConfig.Tiny(tokenizer.VocabularySize, imageSize: 32) : ClipConfig.VitBasePatch32;
        manual_seed(0);
        model = new ClipModel(config, tokenizer);
        model.to(BenchmarkEnvironment.Device);
        model.eval();
        int side = config.VisionConfig.ImageSize;
        images = rand(Count, 3, side, side);
        CaseRecords.SetImages(this, nameof(EncodeImages), Count);
        CaseRecords.SetImages(this, nameof(EncodeTexts), Count);
    }

    /// <summary>16 images (already at the model's size, in [0, 1]) to normalised embeddings; images/s counts images.</summary>
    [Benchmark]
    public void EncodeImages()
    {
        method = nameof(EncodeImages);
        model.EncodeImages(images).Dispose();
        BenchmarkEnvironment.Synchronize();
    }

    /// <summary>16 captions to normalised embeddings; the Images/s column counts texts.</summary>
    [Benchmark]
    public void EncodeTexts()
    {
        method = nameof(EncodeTexts);
        model.EncodeTexts(texts).Dispose();
        BenchmarkEnvironment.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        CaseRecords.RecordMemory(this, method);
        images.Dispose();
        model.Dispose();
    }
}
