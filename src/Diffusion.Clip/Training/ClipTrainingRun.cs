using Diffusion.Training;
using TorchSharp.Modules;

namespace Diffusion.Clip;

/// <summary>
/// One call of <see cref="ClipTrainer.Fit"/>: the contrastive task the training engine
/// (<see cref="TrainingLoop{TBatch}"/>) runs. The data order is <see cref="ClipBatchSampler"/>'s; the loss is
/// <see cref="ClipLoss"/> or <see cref="SigLipLoss"/> on normalised embeddings.
/// </summary>
internal sealed class ClipTrainingRun : TrainingTask<ClipBatch>
{
    private static readonly double MaxLogLogitScale = Math.Log(ClipModel.MaxLogitScale);
    private readonly ClipTrainer trainer;
    private readonly ClipBatchSampler batches;

    public ClipTrainingRun(ClipTrainer trainer, IClipDataset dataset, IProgress<ClipTrainingProgress>? progress, CancellationToken cancellationToken)
    {
        this.trainer = trainer;
        ClipTrainerOptions options = trainer.Options;
        int batchSize = Math.Min(options.BatchSize, dataset.Count);
        batches = new ClipBatchSampler(dataset, trainer.Model.ImageProcessor, batchSize, options.Seed, options.RandomHorizontalFlip);
        List<(string, nn.Module)> modules = [("", trainer.Model)];
        if (trainer.SigLip is not null)
        {
            modules.Add(("siglip.", trainer.SigLip));
        }

        // open_clip: no weight decay on parameters with fewer than 2 dimensions (biases, LayerNorm gains, the class
        // embedding, logit_scale, the SigLIP bias).
        StartEngine(modules, options, batchSize, bfloat16: false, (_, p) => p.dim() >= 2, trainer.Logger,
            progress is null ? null : new EngineProgress(progress, trainer.Model), cancellationToken);
        Log.TrainingStarted(trainer.Logger, options.MaxSteps, batchSize, dataset.Count, modules.Sum(m => m.Item2.parameters().Sum(p => p.numel())), options.Loss);
    }

    public override int DatasetCount => batches.DatasetCount;

    public override int BatchesPerEpoch => batches.BatchesPerEpoch;

    public override IEnumerable<ClipBatch> Epoch(int epoch, int firstBatch, CancellationToken cancellationToken) =>
        batches.Epoch(epoch, firstBatch, cancellationToken);

    public override Tensor Loss(ClipBatch batch, Generator generator)
    {
        ClipModel model = trainer.Model;
        Device device = model.LogitScaleParameter.device;
        Tensor ids = model.Tokenizer!.Tokenize(batch.Captions).to(device);               // [B, T]
        Tensor image = ClipModel.Normalize(model.GetImageFeatures(batch.Pixels.to(device))); // [B, P]
        Tensor text = ClipModel.Normalize(model.GetTextFeatures(ids));                    // [B, P]
        Tensor scale = model.GetLogitScale();
        return trainer.SigLip is null ? ClipLoss.Compute(image, text, scale) : trainer.SigLip.call(image, text, scale);
    }

    public override long ItemCount(ClipBatch batch) => batch.Captions.Length;

    public override void AfterOptimizerStep()
    {
        using var noGrad = no_grad();
        trainer.Model.LogitScaleParameter.clamp_(0, MaxLogLogitScale);
    }

    public override void AddCheckpointMetadata(IDictionary<string, string> metadata) =>
        metadata[ClipTrainer.LossMetadataKey] = trainer.Options.Loss.ToString();

    public override void CheckCheckpointMetadata(IReadOnlyDictionary<string, string> metadata, string path)
    {
        if (!metadata.TryGetValue(ClipTrainer.LossMetadataKey, out string? loss))
        {
            throw new InvalidDataException($"{path}: not a ClipTrainer checkpoint (no '{ClipTrainer.LossMetadataKey}' metadata).");
        }

        if (loss != trainer.Options.Loss.ToString())
        {
            throw new InvalidOperationException(
                $"{path} was trained with the {loss} loss and these options ask for {trainer.Options.Loss}; resume with Loss = {loss}, or use another CheckpointDirectory.");
        }
    }

    public ClipTrainingResult Execute()
    {
        trainer.Model.train();
        try
        {
            TrainingResult result = Engine.Execute();
            return new ClipTrainingResult(result.Steps, result.Losses, result.Elapsed, result.Cancelled, Engine.StoppedByTimeLimit, result.LastCheckpoint, result.ResumedFromStep);
        }
        finally
        {
            trainer.Model.eval();
        }
    }

    /// <summary>Turns the engine's reports into <see cref="ClipTrainingProgress"/>, adding the temperature after the step.</summary>
    private sealed class EngineProgress(IProgress<ClipTrainingProgress> inner, ClipModel model) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) =>
            inner.Report(new ClipTrainingProgress(value.Step, value.TotalSteps ?? 0, value.Loss, value.LearningRate, model.LogitScale, value.Elapsed));
    }
}
