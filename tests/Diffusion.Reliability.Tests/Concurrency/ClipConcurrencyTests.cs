using Diffusion.Clip;
using Diffusion.Data;
using Diffusion.Tests.Support;
using static TorchSharp.torch;

namespace Diffusion.Tests.Concurrency;

/// <summary>
/// One <see cref="ClipModel"/> used for inference from several threads at once: text and image encoding,
/// similarity and zero-shot classification all run concurrently (the model's state is only read, under
/// <c>no_grad</c>; each thread has its own dispose scopes) and each call returns exactly what it returns alone.
/// </summary>
public sealed class ClipConcurrencyTests
{
    private const int Threads = 4;
    private const int Rounds = 5;

    [Fact]
    public void ConcurrentInferenceGivesTheSequentialResults()
    {
        using var scope = NewDisposeScope();
        using ClipModel clip = Tiny.Clip();
        clip.eval();
        var flowers = new ProceduralFlowers(8, 32, seed: 3);
        Tensor images = stack([.. Enumerable.Range(0, 8).Select(i => flowers.GetItem(i).Image)]); // [8,3,32,32]
        string[] texts = [.. Enumerable.Range(0, 8).Select(i => "a photo of a " + flowers.Describe(i).Caption)];
        string[] labels = [.. ProceduralFlowers.SpeciesNames];

        (Tensor Texts, Tensor Images, float[] Classes) Work(int thread)
        {
            int i = thread % 8;
            return (clip.EncodeTexts(texts), clip.EncodeImages(images), [.. clip.Classify(images[i], labels, ["a photo of a {}"])]);
        }

        var expected = Enumerable.Range(0, Threads).Select(Work).ToArray();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var start = new Barrier(Threads);
        Thread[] threads = [.. Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                for (int round = 0; round < Rounds; round++)
                {
                    using var threadScope = NewDisposeScope();
                    (Tensor textFeatures, Tensor imageFeatures, float[] classes) = Work(t);
                    if (!textFeatures.eq(expected[t].Texts).all().item<bool>() || !imageFeatures.eq(expected[t].Images).all().item<bool>()
                        || !classes.SequenceEqual(expected[t].Classes))
                    {
                        failures.Enqueue($"thread {t}, round {round}: a result differs from the sequential one");
                    }
                }
            }
            catch (Exception e)
            {
                failures.Enqueue($"thread {t}: {e}");
            }
        }))];
        Array.ForEach(threads, t => t.Start());
        Array.ForEach(threads, t => Assert.True(t.Join(TimeSpan.FromSeconds(120)), "an inference thread hung"));
        Assert.Empty(failures);
    }
}
