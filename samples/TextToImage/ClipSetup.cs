using Diffusion.Clip;
using Diffusion.Data;

namespace Diffusion.Samples.TextToImage;

/// <summary>Finds the CLIP the sample conditions on and judges with: a given folder, the one a previous run saved, or a new one trained now.</summary>
internal static class ClipSetup
{
    public static ClipModel LoadOrTrain(TextToImageOptions options, FlowerImages train, string folder)
    {
        string? existing = options.Clip ?? (File.Exists(Path.Combine(folder, ClipModel.ConfigFileName)) ? folder : null);
        if (existing is not null)
        {
            ClipModel loaded = ClipModel.Load(existing);
            if (loaded.Tokenizer is null)
            {
                throw new InvalidDataException($"{existing} has no vocab.json/merges.txt: the text encoder needs its tokenizer.");
            }

            Console.WriteLine($"CLIP: loaded {Path.GetFullPath(existing)} ({loaded.Config.VisionConfig.ImageSize}px, text width {loaded.Config.TextConfig.HiddenSize}).");
            return loaded;
        }

        // Every caption is one token per word; 8 tokens hold the longest ("an orange chrysanthemum" + start and end).
        ClipTokenizer tokenizer = ClipTokenizer.FromCorpus(FlowerPrompts.All, contextLength: 8);
        var model = new ClipModel(ClipConfig.Small(tokenizer.VocabularySize, train.ImageSize, contextLength: 8), tokenizer);
        var trainerOptions = new ClipTrainerOptions
        {
            BatchSize = 64,
            LearningRate = 1e-3,
            WarmupSteps = 100,
            WeightDecay = 0.1,
            RandomHorizontalFlip = true,
            Seed = options.Seed,
        };
        int steps = EstimateSteps(model.Config, tokenizer, train, trainerOptions, options.ClipMinutes);
        trainerOptions = trainerOptions with { MaxSteps = steps, MaxDuration = TimeSpan.FromMinutes(options.ClipMinutes * 1.2) };
        Console.WriteLine($"CLIP: training a small one ({model.parameters().Sum(p => p.numel()):N0} parameters) for {options.ClipMinutes:0.#} min...");
        using var trainer = new ClipTrainer(model, trainerOptions);
        ClipTrainingResult result = trainer.Fit(train, new Every(100));
        Console.WriteLine($"  {result.Steps} steps in {result.Elapsed.TotalMinutes:F1} min, loss {result.Losses.Take(20).Average():F3} -> {result.RecentLoss:F3}");
        model.Save(folder);
        Console.WriteLine($"  saved to {folder}");
        return model;
    }

    // Times a few steps of a throwaway model, so that the cosine schedule ends when the minutes do.
    private static int EstimateSteps(ClipConfig config, ClipTokenizer tokenizer, IClipDataset data, ClipTrainerOptions options, double minutes)
    {
        using var probe = new ClipModel(config, tokenizer);
        using (var warmup = new ClipTrainer(probe, options with { MaxSteps = 2 }))
        {
            warmup.Fit(data);
        }

        using var timed = new ClipTrainer(probe, options with { MaxSteps = 6 });
        ClipTrainingResult r = timed.Fit(data);
        double secondsPerStep = r.Elapsed.TotalSeconds / r.Steps;
        int steps = Math.Max(50, (int)(minutes * 60 / secondsPerStep));
        Console.WriteLine($"  {secondsPerStep * 1000:F0} ms per step: {steps} steps fit in {minutes:0.#} min");
        return steps;
    }

    private sealed class Every(int steps) : IProgress<ClipTrainingProgress>
    {
        public void Report(ClipTrainingProgress value)
        {
            if (value.Step % steps == 0)
            {
                Console.WriteLine($"  CLIP step {value.Step}: loss {value.Loss:F3}, temperature {value.LogitScale:F1}, {value.Elapsed:mm\\:ss}");
            }
        }
    }
}
