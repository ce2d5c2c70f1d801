// Trains a small CLIP from scratch on captioned ProceduralFlowers ("a red tulip") for a few minutes on
// the CPU, then classifies held-out flowers zero-shot among every species × colour caption and prints
// Similarity(image, caption) for the right caption next to wrong ones.
//
//   dotnet run --project samples/ClipZeroShot -c Release -- [--minutes 3 | --steps 1500] [--batch-size 64]
//       [--dataset-size 8192] [--test-size 740] [--threads N] [--output output/clip-flowers] [--clip FOLDER]
using System.Diagnostics;
using Diffusion.Clip;
using Diffusion.Data;
using Diffusion.Samples;
using Diffusion.Samples.ClipZeroShot;
using TorchSharp;
using static TorchSharp.torch;

if (!new ClipZeroShotCommandLine().TryParse(args, out ClipZeroShotOptions? options, out int exitCode))
{
    return exitCode;
}

using SampleRun run = SampleRun.Start(options.Threads, "Stopping the CLIP's training early; it is evaluated and saved as it is...");
manual_seed(options.Seed);

// Every caption the data can produce, one prompt per class ("a red tulip", "an orange poppy").
string[] classes = [.. ProceduralFlowers.ClassNames];
string[] prompts = [.. classes.Select(c => ("aeiou".Contains(c[0], StringComparison.Ordinal) ? "an " : "a ") + c)];
using ClipModel model = options.Clip is { } folder ? ClipModel.Load(folder) : NewModel(prompts);
int imageSize = model.Config.VisionConfig.ImageSize;
Console.WriteLine($"CLIP: {model.parameters().Sum(p => p.numel()):N0} parameters, {imageSize}x{imageSize} images{(options.Clip is null ? string.Empty : $", loaded from {options.Clip}")}");

var clock = Stopwatch.StartNew();
using var test = new FlowerPairs(new ProceduralFlowers(options.TestSize, imageSize, seed: (int)options.Seed + 1)); // other seed: unseen flowers
if (options.Clip is null)
{
    Console.WriteLine($"Drawing {options.DatasetSize} training and {options.TestSize} held-out flowers ({imageSize}x{imageSize})...");
    using var train = new FlowerPairs(new ProceduralFlowers(options.DatasetSize, imageSize, seed: (int)options.Seed));
    Console.WriteLine($"  done in {clock.Elapsed.TotalSeconds:F1} s");
    Train(model, train, options, run.Cancellation);
}

// Zero-shot: which of the 37 captions is closest to each held-out image?
using (no_grad())
{
    using var scope = NewDisposeScope();
    Tensor classEmbeddings = model.EncodeLabels(prompts); // [37, P]
    var predicted = new List<int>();
    for (int start = 0; start < test.Count; start += 128)
    {
        int count = Math.Min(128, test.Count - start);
        Tensor images = model.EncodeImages(test.Images(start, count)); // [count, P]
        predicted.AddRange(images.matmul(classEmbeddings.t()).argmax(1).data<long>().ToArray().Select(i => (int)i));
    }

    int[] truth = test.ClassIndices;
    double exact = Accuracy((p, t) => p == t);
    double species = Accuracy((p, t) => Species(p) == Species(t));
    double colour = Accuracy((p, t) => Colour(p) == Colour(t));
    Console.WriteLine();
    Console.WriteLine($"Zero-shot accuracy on {test.Count} held-out flowers among {classes.Length} captions:");
    Console.WriteLine($"  species and colour {exact:P1}   (chance {1.0 / classes.Length:P1})");
    Console.WriteLine($"  species            {species:P1}   (chance {1.0 / ProceduralFlowers.SpeciesNames.Count:P1})");
    Console.WriteLine($"  colour             {colour:P1}   (chance {1.0 / ProceduralFlowers.ColourNames.Count:P1})");

    double Accuracy(Func<int, int, bool> same) => predicted.Zip(truth).Count(p => same(p.First, p.Second)) / (double)truth.Length;
}

// Similarity of one held-out "red tulip" (and one "yellow sunflower") with its caption and wrong ones.
Console.WriteLine();
foreach (string caption in new[] { "a red tulip", "a yellow sunflower" })
{
    int index = Enumerable.Range(0, test.Count).FirstOrDefault(i => prompts[test.ClassIndices[i]] == caption, -1);
    if (index < 0)
    {
        continue;
    }

    (Tensor image, _) = test.Get(index);
    using (image)
    {
        Console.WriteLine($"held-out image #{index} ({caption}):");
        string[] candidates = [caption, .. WrongCaptions(caption)];
        foreach (string candidate in candidates)
        {
            Console.WriteLine($"  Similarity(image, \"{candidate}\") = {model.Similarity(image, candidate),7:F3}{(candidate == caption ? "   <- true caption" : string.Empty)}");
        }
    }
}

if (options.Clip is null)
{
    string output = Path.GetFullPath(options.Output);
    model.Save(output);
    Console.WriteLine();
    Console.WriteLine($"Model saved to {output} (open it with ClipModel.Load).");
}

return 0;

static ClipModel NewModel(string[] prompts)
{
    const int ImageSize = 32;
    ClipTokenizer tokenizer = ClipTokenizer.FromCorpus(prompts, contextLength: 8);
    return new ClipModel(ClipConfig.Small(tokenizer.VocabularySize, ImageSize, contextLength: 8), tokenizer);
}

static void Train(ClipModel model, FlowerPairs train, ClipZeroShotOptions options, CancellationToken cancellationToken)
{
    var trainerOptions = new ClipTrainerOptions
    {
        BatchSize = options.BatchSize,
        LearningRate = 1e-3,
        WarmupSteps = 100,
        WeightDecay = 0.1,
        RandomHorizontalFlip = true, // a mirrored flower is the same flower
        Seed = options.Seed,
    };
    int steps = options.Steps is { } s ? (int)Math.Min(s, int.MaxValue) : EstimateSteps(model.Config, model.Tokenizer ?? throw new InvalidOperationException("a new CLIP has a tokenizer"), train, trainerOptions, options.Minutes);
    trainerOptions = trainerOptions with
    {
        MaxSteps = steps,
        MaxDuration = options.Steps is null ? TimeSpan.FromMinutes(options.Minutes * 1.15) : null,
    };

    Console.WriteLine($"Training {steps} steps of {options.BatchSize} pairs...");
    using var trainer = new ClipTrainer(model, trainerOptions);
    var progress = new ConsoleProgress(Math.Max(1, steps / 15));
    ClipTrainingResult result = trainer.Fit(train, progress, cancellationToken);
    Console.WriteLine($"  {result.Steps} steps in {result.Elapsed.TotalMinutes:F1} min ({result.Steps / result.Elapsed.TotalSeconds:F1} steps/s), " +
        $"loss {result.Losses.Take(20).Average():F3} -> {result.RecentLoss:F3}, temperature {model.LogitScale:F1}");
}

static string[] WrongCaptions(string caption) => caption == "a red tulip"
    ? ["a yellow tulip", "a red rose", "a red poppy", "a white daisy", "a blue aster", "a purple chrysanthemum"]
    : ["an orange sunflower", "a yellow daisy", "a yellow tulip", "a red rose", "a pink lily", "a blue aster"];

static string Species(int classIndex) => ProceduralFlowers.ClassNames[classIndex].Split(' ')[1];

static string Colour(int classIndex) => ProceduralFlowers.ClassNames[classIndex].Split(' ')[0];

// Times a few steps of a throwaway copy of the model to fit the cosine schedule into the minutes asked for.
static int EstimateSteps(ClipConfig config, ClipTokenizer tokenizer, IClipDataset data, ClipTrainerOptions options, double minutes)
{
    using var probe = new ClipModel(config, tokenizer);
    using var warmup = new ClipTrainer(probe, options with { MaxSteps = 2 });
    warmup.Fit(data);
    using var timed = new ClipTrainer(probe, options with { MaxSteps = 8 });
    ClipTrainingResult r = timed.Fit(data);
    double secondsPerStep = r.Elapsed.TotalSeconds / r.Steps;
    int steps = Math.Max(50, (int)(minutes * 60 / secondsPerStep));
    Console.WriteLine($"  {secondsPerStep * 1000:F0} ms per step: {steps} steps fit in {minutes:F1} min");
    return steps;
}
