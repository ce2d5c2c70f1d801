// <snippet:quickstart>
using Diffusion.Clip;
using Diffusion.Data;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using Diffusion.Training;
using TorchSharp;

// 1. Train a small U-Net for a few steps on the built-in procedural flowers.
var flowers = new ProceduralFlowers(count: 256, imageSize: 16);
using var unet = new UNet(new UNetOptions { HiddenDims = [16, 32, 64], ImageSize = 16 });
using var scheduler = new DdimScheduler();
var trainer = new Trainer(unet, scheduler, new TrainerOptions { MaxSteps = 20, BatchSize = 8, WarmupSteps = 5 });
TrainingResult result = trainer.Fit(flowers);
Console.WriteLine($"trained {result.Steps} steps, loss {result.FinalLoss:F3}");

// 2. Sample four images and save them as a 2×2 grid.
using torch.Tensor images = new DiffusionPipeline(unet, scheduler).Generate(count: 4, inferenceSteps: 10, seed: 42);
ImageGrid.Save(images, "samples.png", columns: 2);

// 3. Score the grid against a caption with a tiny CLIP (untrained here: see docs/clip.md to train one).
string[] captions = [.. Enumerable.Range(0, flowers.Count).Select(i => flowers.Describe(i).Caption)];
ClipTokenizer tokenizer = ClipTokenizer.FromCorpus(captions, contextLength: 8);
using var clip = new ClipModel(ClipConfig.Tiny(tokenizer.VocabularySize, imageSize: 16, contextLength: 8), tokenizer);
float similarity = clip.Similarity("samples.png", "a red tulip");
Console.WriteLine($"similarity {similarity:F3}");
// </snippet>
