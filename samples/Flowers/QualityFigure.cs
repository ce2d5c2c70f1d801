using System.Diagnostics;
using Diffusion.Clip;
using Diffusion.Data;
using Diffusion.Pipelines;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.Flowers;

/// <summary>
/// The main job's quality number: the Fréchet distance (<see cref="FrechetDistance"/>) between generated flowers and
/// held-out procedural flowers in the image-embedding space of a small CLIP trained on procedural flowers
/// (clip-flowers/ beside this file, made by samples/ClipZeroShot), printed beside the floor: the same distance between
/// two held-out sets of the same size, which is what a perfect model would score at that N.
/// </summary>
internal static class QualityFigure
{
    // Seeds no training set uses: Flowers trains on seed 0 (and its loss set on 1_000_003), the CLIP on seed 0.
    private const int ReferenceSeed = 2_000_003;
    private const int FloorSeed = 3_000_017;

    // DDIM steps of the quality samples: fewer than samples.png's 50, so that 128 images cost about two minutes on a
    // 2-core CPU instead of five. Figures are comparable only at the same steps and count.
    private const int SamplingSteps = 20;

    /// <summary>The committed CLIP folder (copied beside the sample's binaries).</summary>
    public static string ClipFolder => Path.Combine(AppContext.BaseDirectory, "clip-flowers");

    /// <summary>Samples <paramref name="count"/> images and prints the distance to held-out flowers beside the floor;
    /// returns the two distances, or null (with a line saying why) where there is nothing to measure.</summary>
    public static (double Samples, double Floor)? Measure(DiffusionPipeline pipeline, FlowersOptions options, int count)
    {
        if (count < 2)
        {
            return null;
        }

        if (options.Data is not null)
        {
            Console.WriteLine("Quality figure skipped: the committed CLIP knows procedural flowers only, and --data trains on other images.");
            return null;
        }

        if (!File.Exists(Path.Combine(ClipFolder, "config.json")))
        {
            Console.WriteLine($"Quality figure skipped: no CLIP at {ClipFolder}.");
            return null;
        }

        var clock = Stopwatch.StartNew();
        using ClipModel clip = ClipModel.Load(ClipFolder);
        using Tensor generated = pipeline.Generate(count, inferenceSteps: SamplingSteps, seed: options.Seed + 1, batchSize: 64);
        using Tensor reference = Draw(count, options.ImageSize, ReferenceSeed);
        using Tensor other = Draw(count, options.ImageSize, FloorSeed);
        double samples = FrechetDistance.Compute(clip, generated, reference);
        double floor = FrechetDistance.Compute(clip, other, reference);
        Console.WriteLine($"Fréchet distance in the flowers CLIP's image space, {count} images a set ({SamplingSteps} DDIM steps): samples vs held-out flowers {samples:F4}, " +
                          $"held-out vs held-out {floor:F4} (the floor at this size; {clock.Elapsed.TotalSeconds:F0} s).");
        return (samples, floor);
    }

    // count procedural flowers [count, 3, S, S] in [0, 1], drawn with their own seed.
    private static Tensor Draw(int count, int imageSize, int seed)
    {
        var flowers = new ProceduralFlowers(count, imageSize, seed);
        var images = new List<Tensor>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                using ImageItem item = flowers.GetItem(i);
                images.Add(item.Image.clone());
            }

            return stack(images);
        }
        finally
        {
            images.ForEach(image => image.Dispose());
        }
    }
}
