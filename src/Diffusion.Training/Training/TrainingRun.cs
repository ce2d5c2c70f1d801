using Diffusion.Data;
using TorchSharp.Modules;
using DataLoader = Diffusion.Data.DataLoader;

namespace Diffusion.Training;

/// <summary>
/// One call of <see cref="Trainer.Fit"/>: the denoising task the training engine (<see cref="TrainingLoop{TBatch}"/>)
/// runs. The data order is the <see cref="DataLoader"/>'s (shuffled per (seed, epoch), flips per item); the loss
/// is the book's: x0 scaled to [−1, 1], noise and timesteps from the engine's generator, the scheduler's target.
/// </summary>
internal sealed class TrainingRun : TrainingTask<ImageBatch>
{
    private readonly Trainer trainer;
    private readonly Device device;
    private readonly ScalarType computeType;
    private readonly DataLoader loader;

    public TrainingRun(Trainer trainer, IImageDataset dataset, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        this.trainer = trainer;
        TrainerOptions options = trainer.Options;
        Parameter? first = trainer.Model.parameters().FirstOrDefault();
        device = options.Device ?? first?.device ?? CPU;
        computeType = options.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
        trainer.Model.to(device);
        loader = new DataLoader(dataset, new DataLoaderOptions
        {
            BatchSize = options.BatchSize,
            Shuffle = true,
            DropLast = true,
            Seed = options.Seed,
            Workers = options.LoaderWorkers ?? Math.Min(4, Environment.ProcessorCount),
            Transforms = options.RandomHorizontalFlip ? [new RandomHorizontalFlip()] : [],
            OnError = options.OnDataError,
            LoggerFactory = options.LoggerFactory,
        });
        try
        {
            StartEngine([("", trainer.Model)], options, options.BatchSize, options.BFloat16, decays: null, trainer.Logger, progress, cancellationToken);
        }
        catch
        {
            loader.Dispose();
            throw;
        }
    }

    public override int DatasetCount => loader.Dataset.Count;

    public override int BatchesPerEpoch => loader.BatchesPerEpoch;

    public override TimeSpan DataWait => loader.TotalWaitTime;

    public override IEnumerable<ImageBatch> Epoch(int epoch, int firstBatch, CancellationToken cancellationToken) =>
        loader.Epoch(epoch, firstBatch, cancellationToken);

    public override Tensor Loss(ImageBatch batch, Generator generator)
    {
        Tensor x0 = batch.Images.to(device).to(computeType).mul(2).sub_(1);            // [B,3,H,W] in [−1, 1]
        Tensor noise = randn(x0.shape, generator: generator).to(device).to(computeType);  // ε ~ N(0, I), drawn on the CPU generator
        Tensor timesteps = randint(0, trainer.Scheduler.NumTrainTimesteps, [x0.shape[0]], dtype: int64, generator: generator).to(device);
        return trainer.PerSampleLoss(x0, noise, timesteps, batch).mean();              // [B] → scalar
    }

    public override long ItemCount(ImageBatch batch) => batch.Images.shape[0];

    public TrainingResult Execute() => Engine.Execute();

    /// <summary>One optimizer step on a given batch (see <see cref="TrainingLoop{TBatch}.StepOnBatch"/>): the hook the benchmarks time.</summary>
    internal double StepOnBatch(ImageBatch batch) => Engine.StepOnBatch(batch);

    public override void Dispose()
    {
        loader.Dispose();
        base.Dispose();
    }
}
