using Diffusion.Data;
using Diffusion.IO;
using Diffusion.Models;
using Diffusion.Optimization;
using Diffusion.Pipelines;
using Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.Samples.DocsSnippets;

/// <summary>docs/porting.md: the book's notebook, cell by cell.</summary>
internal static class PortingSnippets
{
    public static void BookTrainingLoop(int numEpochs)
    {
        // <snippet:porting-book-loop>
        using var model = new UNet();                                        // UNet(3, hidden_dims=[128, 256, 512, 1024], image_size=64)
        using var noiseScheduler = new DdimScheduler(DdimSchedulerOptions.Book);
        IImageDataset dataset = ParquetImageDataset.Open("flowers-102-categories/data", imageSize: 64);
        using var trainDataloader = new DataLoader(dataset, new DataLoaderOptions { BatchSize = 4, Shuffle = true });

        var optimizer = torch.optim.AdamW(model.parameters(), lr: 0.0001, beta1: 0.95, beta2: 0.999, eps: 1e-8, weight_decay: 0.00001);
        var lrScheduler = new WarmupCosineSchedule(0.0001, warmupSteps: 300, totalSteps: trainDataloader.BatchesPerEpoch * numEpochs);
        long globalStep = 0;
        for (int epoch = 0; epoch < numEpochs; epoch++)
        {
            model.train();
            foreach (ImageBatch batch in trainDataloader.Epoch(epoch))
            {
                using var scope = torch.NewDisposeScope();                   // frees this step's tensors (memory.md)
                using (batch)
                {
                    Tensor cleanImages = batch.Images * 2 - 1;
                    Tensor noise = torch.randn(cleanImages.shape);
                    Tensor timesteps = torch.randint(0, noiseScheduler.NumTrainTimesteps, [cleanImages.shape[0]], dtype: ScalarType.Int64);
                    Tensor noisyImages = noiseScheduler.AddNoise(cleanImages, noise, timesteps);

                    Tensor noisePred = model.call(noisyImages, timesteps);  // model(noisy_images, timesteps)["sample"]
                    Tensor loss = nn.functional.l1_loss(noisePred, noise);
                    loss.backward();
                    foreach (var group in optimizer.ParamGroups)
                    {
                        group.LearningRate = lrScheduler.LearningRateAt(globalStep); // lr_scheduler.step()
                    }

                    optimizer.step();
                    optimizer.zero_grad();
                    globalStep++;
                }
            }
        }

        model.SaveSafeTensors("files/diffusion.safetensors");                // torch.save(model.state_dict(), ...)
        // </snippet>
    }

    public static void BookGenerate()
    {
        // <snippet:porting-book-generate>
        using var model = new UNet();
        model.LoadSafeTensors("files/diffusion.safetensors");                // model.load_state_dict(torch.load(...))
        model.eval();
        using var noiseScheduler = new DdimScheduler(DdimSchedulerOptions.Book); // generate(..., eta=1.0, use_clipped_model_output=True)
        var pipeline = new DiffusionPipeline(model, noiseScheduler);
        using Tensor images = pipeline.Generate(count: 10, inferenceSteps: 50, seed: 1); // under no_grad, [10,3,64,64] in [0,1]
        ImageGrid.Save(images, "generated.png", columns: 5);                 // the 2×5 matplotlib figure
        // </snippet>
    }
}
