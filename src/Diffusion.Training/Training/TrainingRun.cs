using System.Diagnostics;
using Diffusion.Data;
using Diffusion.Optimization;
using Diffusion.Schedulers;
using TorchSharp;
using TorchSharp.Modules;
using DataLoader = Diffusion.Data.DataLoader;
using static TorchSharp.torch;

namespace Diffusion.Training;

/// <summary>One call of <see cref="Trainer.Fit"/>: the state that lives as long as the call.</summary>
internal sealed class TrainingRun : IDisposable
{
    private readonly Trainer trainer;
    private readonly TrainerOptions options;
    private readonly IImageDataset dataset;
    private readonly IProgress<TrainingProgress>? progress;
    private readonly CancellationToken cancellationToken;
    private readonly Device device;
    private readonly (string Name, Parameter Parameter)[] parameters;
    private readonly AdamWOptimizer optimizer;
    private readonly ExponentialMovingAverage? ema;
    private readonly Generator generator;
    private readonly DataLoader loader;
    private readonly List<float> losses = [];
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly ScalarType computeType;
    private long step;
    private int epoch;
    private int batchInEpoch;
    private long? resumedFrom;
    private int skipped;
    private long imagesThisRun;
    private double windowLossSum;
    private int windowCount;
    private double lastAverage = double.NaN;
    private string? lastCheckpoint;
    private long lastCheckpointStep = -1;

    public TrainingRun(Trainer trainer, IImageDataset dataset, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        this.trainer = trainer;
        options = trainer.Options;
        this.dataset = dataset;
        this.progress = progress;
        this.cancellationToken = cancellationToken;
        Parameter? first = trainer.Model.parameters().FirstOrDefault();
        device = options.Device ?? first?.device ?? CPU;
        computeType = options.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
        trainer.Model.to(device);
        if (options.BFloat16)
        {
            trainer.Model.to(ScalarType.BFloat16);
        }

        parameters = [.. trainer.Model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter))];
        if (parameters.Length == 0)
        {
            throw new ArgumentException("the model has no trainable parameters (none has requires_grad).", "model");
        }

        optimizer = new AdamWOptimizer(parameters, options.Beta1, options.Beta2, options.AdamEpsilon, options.WeightDecay, masterFloat32: options.BFloat16);
        ema = options.UseEma ? new ExponentialMovingAverage(optimizer.MasterWeights, options.EmaDecay) : null;
        generator = new Generator((ulong)options.Seed, CPU);
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
    }

    private int UsableBatches => loader.BatchesPerEpoch / options.GradientAccumulationSteps * options.GradientAccumulationSteps;

    private long TotalSteps => options.MaxSteps ?? (long)options.Epochs * (UsableBatches / options.GradientAccumulationSteps);

    public TrainingResult Execute()
    {
        int momentWindowsLeft = 0;
        if (!TryResume() && options.InitialStep > 0)
        {
            // Weights that already had InitialStep steps: go on from there (schedule, EMA warm-up, step numbers),
            // after filling AdamW's empty moments from a few batches.
            step = options.InitialStep;
            ema?.ContinueAt(options.InitialStep);
            momentWindowsLeft = options.MomentWarmupSteps;
            Log.ContinuingFromInitialStep(trainer.Logger, step, momentWindowsLeft);
        }

        var schedule = new WarmupCosineSchedule(options.LearningRate, options.WarmupSteps, (int)Math.Min(int.MaxValue, Math.Max(1, TotalSteps)));
        optimizer.ZeroGrad();
        bool cancelled = false;
        string? stopReason = step >= TotalSteps ? "already at the last step" : null;
        while (stopReason is null)
        {
            int startBatch = batchInEpoch;
            int micro = 0;
            bool windowFinite = true;
            double windowLoss = 0;
            try
            {
                foreach (ImageBatch batch in loader.Epoch(epoch, startBatch, cancellationToken))
                {
                    using (batch)
                    {
                        if (startBatch + micro >= UsableBatches)
                        {
                            break; // leftover micro-batches that cannot fill an accumulation window
                        }

                        double loss = MicroStep(batch);
                        windowFinite &= double.IsFinite(loss);
                        windowLoss += loss / options.GradientAccumulationSteps;
                        micro++;
                        if (micro % options.GradientAccumulationSteps != 0)
                        {
                            continue;
                        }

                        if (momentWindowsLeft > 0)
                        {
                            // Moments only: AdamW at learning rate 0 updates m and v and leaves every weight bit for
                            // bit (θ·(1 − 0) − 0·m̂/√v̂); no step, no EMA update, no report.
                            if (windowFinite)
                            {
                                OptimizerStep(0, windowLoss, updateEma: false);
                            }
                            else
                            {
                                optimizer.ZeroGrad();
                            }

                            momentWindowsLeft--;
                            AdvanceLoaderPosition(startBatch + micro);
                            windowLoss = 0;
                            windowFinite = true;
                            if (cancellationToken.IsCancellationRequested || (options.MaxDuration is { } limit && clock.Elapsed >= limit))
                            {
                                stopReason = StopReason() ?? "stopped while filling AdamW's moments";
                                cancelled = cancellationToken.IsCancellationRequested;
                                break;
                            }

                            continue;
                        }

                        double learningRate = LearningRateAt(schedule, step);
                        if (!windowFinite)
                        {
                            optimizer.ZeroGrad();
                            skipped++;
                            Log.SkippedNonFiniteStep(trainer.Logger, step, windowLoss);
                        }
                        else if (!OptimizerStep(learningRate, windowLoss))
                        {
                            skipped++;
                        }

                        step++;
                        AdvanceLoaderPosition(startBatch + micro);

                        Report(windowLoss, learningRate);
                        windowLoss = 0;
                        windowFinite = true;
                        stopReason = StopReason();
                        if (stopReason is not null)
                        {
                            cancelled = cancellationToken.IsCancellationRequested;
                            break;
                        }

                        if (step % options.CheckpointEverySteps == 0)
                        {
                            SaveCheckpoint();
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                stopReason = "cancelled";
                cancelled = true;
            }

            if (stopReason is null && batchInEpoch == startBatch + micro && micro == 0)
            {
                throw new InvalidOperationException($"the loader gave no batch for epoch {epoch}; the dataset may have changed size.");
            }

            if (stopReason is null && batchInEpoch != 0)
            {
                // The epoch ended with leftover micro-batches: start the next one.
                epoch++;
                batchInEpoch = 0;
            }

            optimizer.ZeroGrad();
        }

        Log.Stopped(trainer.Logger, step, stopReason);
        if (lastCheckpointStep != step)
        {
            SaveCheckpoint();
        }

        FinishModel();
        return new TrainingResult(step, losses.Count, resumedFrom, windowCount > 0 ? windowLossSum / windowCount : lastAverage,
            losses, skipped, cancelled, lastCheckpoint, clock.Elapsed, loader.TotalWaitTime);
    }

    /// <summary>
    /// One optimizer step on a given batch, as <see cref="Execute"/> takes it (forward, loss, backward,
    /// clipping, AdamW at the peak learning rate, EMA), without loader, progress or checkpoints: the
    /// hook the benchmarks time.
    /// </summary>
    internal double StepOnBatch(ImageBatch batch)
    {
        double loss = MicroStep(batch);
        OptimizerStep(options.LearningRate, loss);
        step++;
        return loss;
    }

    private void AdvanceLoaderPosition(int batchesDone)
    {
        batchInEpoch = batchesDone;
        if (batchInEpoch >= UsableBatches)
        {
            epoch++;
            batchInEpoch = 0;
        }
    }

    private double LearningRateAt(WarmupCosineSchedule schedule, long index) =>
        options.LearningRateSchedule == LearningRateSchedule.Cosine || index < options.WarmupSteps
            ? schedule.LearningRateAt(index)
            : options.LearningRate;

    private string? StopReason()
    {
        if (step >= TotalSteps)
        {
            return options.MaxSteps is null ? $"{options.Epochs} epoch(s) done" : $"reached MaxSteps {options.MaxSteps}";
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return "cancelled";
        }

        return options.MaxDuration is { } limit && clock.Elapsed >= limit ? $"reached MaxDuration {limit}" : null;
    }

    // One forward and backward pass; returns the batch's (unscaled) loss.
    private double MicroStep(ImageBatch batch)
    {
        using var scope = NewDisposeScope();
        Tensor x0 = batch.Images.to(device).to(computeType).mul(2).sub_(1);            // [B,3,H,W] in [−1, 1]
        Tensor noise = randn(x0.shape, generator: generator).to(device).to(computeType);  // ε ~ N(0, I), drawn on the CPU generator
        Tensor timesteps = randint(0, trainer.Scheduler.NumTrainTimesteps, [x0.shape[0]], dtype: int64, generator: generator).to(device);
        Tensor perSample = trainer.PerSampleLoss(x0, noise, timesteps, batch);          // [B]
        Tensor loss = perSample.mean();
        double value = loss.item<float>();
        if (!double.IsFinite(value) && options.OnNonFiniteLoss == NonFiniteLossPolicy.Stop)
        {
            throw new NonFiniteLossException(
                $"the loss at step {step} is {value}; training stopped (OnNonFiniteLoss = Stop) and the last checkpoint was left as it was. " +
                "Lower the learning rate, check the data for NaN, or set OnNonFiniteLoss = SkipStep.")
            { Step = step, Loss = value };
        }

        if (double.IsFinite(value))
        {
            (loss / options.GradientAccumulationSteps).backward();
        }

        imagesThisRun += x0.shape[0];
        return value;
    }

    // Applies the summed gradients unless their norm is NaN or infinite (a finite loss can still have one, e.g.
    // from a √ or log at 0): that step is stopped or skipped like a non-finite loss, before it reaches the weights.
    private bool OptimizerStep(double learningRate, double loss, bool updateEma = true)
    {
        using var scope = NewDisposeScope(); // clipping and .grad handles make tensors too
        double norm = options.MaxGradNorm is { } maxNorm
            ? nn.utils.clip_grad_norm_(optimizer.Parameters, maxNorm)
            : GradientNorm();
        if (!double.IsFinite(norm))
        {
            if (options.OnNonFiniteLoss == NonFiniteLossPolicy.Stop)
            {
                throw new NonFiniteLossException(
                    $"the gradient norm at step {step} is {norm} (loss {loss}); training stopped (OnNonFiniteLoss = Stop) before the weights changed, " +
                    "and the last checkpoint was left as it was. Lower the learning rate, look for √, log or division at 0 in the model, or set OnNonFiniteLoss = SkipStep.")
                { Step = step, Loss = loss };
            }

            optimizer.ZeroGrad();
            Log.SkippedNonFiniteGradient(trainer.Logger, step, norm, loss);
            return false;
        }

        optimizer.Step(learningRate);
        optimizer.ZeroGrad();
        if (updateEma)
        {
            ema?.Update(optimizer.MasterWeights);
        }

        return true;
    }

    private double GradientNorm()
    {
        Tensor[] norms = [.. optimizer.Parameters.Select(p => p.grad).OfType<Tensor>().Select(g => g.norm().to(float32))];
        return norms.Length == 0 ? 0 : stack(norms).norm().item<float>();
    }

    private void Report(double loss, double learningRate)
    {
        losses.Add((float)loss);
        windowLossSum += loss;
        windowCount++;
        double seconds = Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        double average = windowLossSum / windowCount;
        progress?.Report(new TrainingProgress(step, options.MaxSteps ?? TotalSteps, epoch, loss, average, learningRate,
            imagesThisRun / seconds, loader.TotalWaitTime, clock.Elapsed));
        if (step % options.LogEverySteps == 0)
        {
            Log.TrainingStep(trainer.Logger, step, average, learningRate, imagesThisRun / seconds, loader.TotalWaitTime.TotalSeconds);
            lastAverage = average;
            windowLossSum = 0;
            windowCount = 0;
        }
    }

    private void SaveCheckpoint()
    {
        if (options.CheckpointDirectory is null)
        {
            return;
        }

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var scope = NewDisposeScope();
        foreach ((string name, Tensor weight) in optimizer.MasterWeights)
        {
            if (!weight.isfinite().all().item<bool>())
            {
                // Under either policy: a checkpoint with NaN weights would become the one to resume from, and
                // rotation would delete the good ones.
                throw new NonFiniteLossException(
                    $"the weights '{name}' hold NaN or infinite values at step {step}; the checkpoint was not written, and " +
                    $"{lastCheckpoint ?? "no earlier checkpoint"} is left as it was. Resume from it with a lower learning rate.")
                { Step = step, Loss = double.NaN };
            }
        }

        foreach ((string name, Tensor value) in trainer.Model.state_dict())
        {
            tensors[TrainingCheckpoint.ModelPrefix + name] = value.to(float32);
        }

        foreach ((string name, Tensor weight) in optimizer.MasterWeights)
        {
            tensors[TrainingCheckpoint.ModelPrefix + name] = weight; // float32 masters win over bf16 copies
        }

        ema?.AddStateTo(tensors, TrainingCheckpoint.EmaPrefix);
        optimizer.AddStateTo(tensors, TrainingCheckpoint.OptimizerPrefix);
        tensors[TrainingCheckpoint.GeneratorKey] = generator.get_state();
        var state = new CheckpointState(CheckpointState.CurrentFormatVersion, step, epoch, batchInEpoch, ema?.Updates ?? 0,
            optimizer.StepCount, options.BatchSize, options.GradientAccumulationSteps, options.Seed, dataset.Count);
        string path = TrainingCheckpoint.PathFor(options.CheckpointDirectory, step);
        TrainingCheckpoint.Write(path, tensors, state);
        lastCheckpoint = path;
        lastCheckpointStep = step;
        Log.CheckpointSaved(trainer.Logger, path);
        foreach ((long _, string old) in TrainingCheckpoint.List(options.CheckpointDirectory).SkipLast(options.KeepCheckpoints))
        {
            File.Delete(old);
        }
    }

    // Returns whether a checkpoint was loaded.
    private bool TryResume()
    {
        if (options.CheckpointDirectory is not null)
        {
            try
            {
                Directory.CreateDirectory(options.CheckpointDirectory); // fail now, not at the first checkpoint
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"CheckpointDirectory '{options.CheckpointDirectory}' cannot be created: {e.Message}", e);
            }
        }

        if (options.CheckpointDirectory is not null && TrainingCheckpoint.DeleteTemporaryFiles(options.CheckpointDirectory) is > 0 and int deleted)
        {
            Log.DeletedTemporaryFiles(trainer.Logger, deleted, options.CheckpointDirectory);
        }

        string? path = options.CheckpointDirectory is null ? null : TrainingCheckpoint.FindLatest(options.CheckpointDirectory);
        if (path is null)
        {
            return false;
        }

        (Dictionary<string, Tensor> tensors, CheckpointState state) = TrainingCheckpoint.Read(path);
        try
        {
            if (state.BatchSize != options.BatchSize || state.GradientAccumulationSteps != options.GradientAccumulationSteps
                || state.Seed != options.Seed || state.DatasetCount != dataset.Count)
            {
                throw new InvalidOperationException(
                    $"{path} was written with BatchSize {state.BatchSize}, GradientAccumulationSteps {state.GradientAccumulationSteps}, Seed {state.Seed} " +
                    $"and {state.DatasetCount} dataset items; this run has {options.BatchSize}, {options.GradientAccumulationSteps}, {options.Seed} and {dataset.Count}. " +
                    "Exact resume needs the same values: restore them, or use another CheckpointDirectory.");
            }

            if (state.BatchInEpoch >= UsableBatches || state.BatchInEpoch % options.GradientAccumulationSteps != 0)
            {
                throw new InvalidDataException(
                    $"{path}: the checkpoint's loader position (epoch {state.Epoch}, batch {state.BatchInEpoch}) does not fit an epoch of {UsableBatches} usable batches.");
            }

            using (no_grad())
            {
                foreach ((string name, Tensor target) in trainer.Model.state_dict())
                {
                    if (!tensors.TryGetValue(TrainingCheckpoint.ModelPrefix + name, out Tensor? source) || !source.shape.SequenceEqual(target.shape))
                    {
                        throw new InvalidDataException($"{path}: the checkpoint has no weights '{TrainingCheckpoint.ModelPrefix}{name}' of shape [{string.Join(',', target.shape)}].");
                    }

                    target.copy_(source);
                }
            }

            optimizer.LoadStateFrom(tensors, TrainingCheckpoint.OptimizerPrefix, state.OptimizerSteps, path);
            ema?.LoadStateFrom(tensors, TrainingCheckpoint.EmaPrefix, state.EmaUpdates, path);
            if (!tensors.TryGetValue(TrainingCheckpoint.GeneratorKey, out Tensor? rng))
            {
                throw new InvalidDataException($"{path}: the checkpoint lacks the generator state '{TrainingCheckpoint.GeneratorKey}'.");
            }

            using (Tensor current = generator.get_state())
            {
                TrainingCheckpoint.CheckGeneratorState(rng, current.shape[0], path);
            }

            generator.set_state(rng);
        }
        finally
        {
            foreach (Tensor t in tensors.Values)
            {
                t.Dispose();
            }
        }

        step = state.Step;
        epoch = state.Epoch;
        batchInEpoch = state.BatchInEpoch;
        resumedFrom = state.Step;
        lastCheckpoint = path;
        lastCheckpointStep = state.Step;
        Log.Resumed(trainer.Logger, path, step, epoch, batchInEpoch);
        return true;
    }

    private void FinishModel()
    {
        using var noGrad = no_grad();
        IEnumerable<(string Name, Tensor Parameter)> current = parameters.Select(p => (p.Name, (Tensor)p.Parameter));
        if (options.BFloat16)
        {
            // Module.to(dtype) replaces every Parameter (the bf16 ones held in `parameters` are disposed), so the
            // float32 parameters are looked up again by name.
            trainer.Model.to(ScalarType.Float32);
            Dictionary<string, Parameter> byName = trainer.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach ((string name, Tensor master) in optimizer.MasterWeights)
            {
                byName[name].copy_(master);
            }

            current = [.. parameters.Select(p => (p.Name, (Tensor)byName[p.Name]))];
        }

        ema?.CopyTo(current);
    }

    public void Dispose()
    {
        loader.Dispose();
        optimizer.Dispose();
        ema?.Dispose();
        generator.Dispose();
    }
}
