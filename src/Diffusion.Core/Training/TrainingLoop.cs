using System.Diagnostics;
using Diffusion.Optimization;
using Microsoft.Extensions.Logging;
using TorchSharp.Modules;
using Diffusion.Internal;

namespace Diffusion.Training;

/// <summary>
/// The one training engine behind <c>Trainer</c> (U-Nets) and <c>ClipTrainer</c> (CLIP): the step loop with
/// gradient accumulation, clipping, the NaN policy, AdamW (<see cref="AdamWOptimizer"/>) on a warm-up + cosine
/// schedule, EMA weights, progress, cancellation, single-file checkpoints and exact resume. A trainer supplies
/// its data order and its loss as a <see cref="TrainingTask{TBatch}"/>. One instance lives as long as one
/// <c>Fit</c> call.
/// </summary>
/// <remarks>
/// Cancellation (the library's rule, docs/decisions/0008-training-engine.md): the loop stops after the current
/// step, writes a resumable checkpoint when a folder is set, and returns a result with
/// <see cref="TrainingResult.Cancelled"/> set; it does not throw <see cref="OperationCanceledException"/>.
/// </remarks>
/// <typeparam name="TBatch">The task's micro-batch.</typeparam>
internal sealed partial class TrainingLoop<TBatch> : IDisposable
    where TBatch : IDisposable
{
    private readonly TrainingTask<TBatch> task;
    private readonly TrainingOptions options;
    private readonly int batchSize;
    private readonly bool bfloat16;
    private readonly (string Prefix, nn.Module Module)[] modules;
    private readonly ILogger logger;
    private readonly IProgress<TrainingProgress>? progress;
    private readonly CancellationToken cancellationToken;
    private readonly (string Name, Parameter Parameter)[] parameters;
    private readonly AdamWOptimizer optimizer;
    private readonly ExponentialMovingAverage? ema;
    private readonly Generator generator;
    private readonly List<float> losses = [];
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private long step;
    private int epoch;
    private int batchInEpoch;
    private long? resumedFrom;
    private int skipped;
    private long itemsThisRun;
    private double windowLossSum;
    private int windowCount;
    private double lastAverage = double.NaN;
    private string? lastCheckpoint;
    private long lastCheckpointStep = -1;

    /// <summary>Sets up the optimizer, EMA and generator over the modules' trainable parameters.</summary>
    /// <param name="task">The trainer's data order and loss.</param>
    /// <param name="modules">What is trained, each with the prefix its names get in checkpoints ("" for the model itself).
    /// They must already be on the training device; with <paramref name="bfloat16"/> they are cast here.</param>
    /// <param name="options">The shared settings, validated by the caller.</param>
    /// <param name="batchSize">The micro-batch size the task's batches have (CLIP caps <see cref="TrainingOptions.BatchSize"/> at the dataset's size).</param>
    /// <param name="bfloat16">Run the modules in bfloat16 with float32 master weights in the optimizer.</param>
    /// <param name="decays">Which parameters get weight decay; null: all.</param>
    /// <param name="logger">Where the engine logs.</param>
    /// <param name="progress">Told after every optimizer step.</param>
    /// <param name="cancellationToken">Stops training after the current step (see the remarks).</param>
    /// <exception cref="ArgumentException">The dataset is too small for one optimizer step, or nothing is trainable.</exception>
    public TrainingLoop(TrainingTask<TBatch> task, IReadOnlyList<(string Prefix, nn.Module Module)> modules, TrainingOptions options,
        int batchSize, bool bfloat16, Func<string, Parameter, bool>? decays, ILogger logger, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        this.task = task;
        this.options = options;
        this.batchSize = batchSize;
        this.bfloat16 = bfloat16;
        this.modules = [.. modules];
        this.logger = logger;
        this.progress = progress;
        this.cancellationToken = cancellationToken;
        if (task.DatasetCount < batchSize * options.GradientAccumulationSteps)
        {
            throw new ArgumentException(
                $"dataset has {task.DatasetCount} items, fewer than one optimizer step needs (BatchSize {batchSize} × GradientAccumulationSteps {options.GradientAccumulationSteps}).",
                "dataset");
        }

        if (bfloat16)
        {
            foreach ((_, nn.Module module) in this.modules)
            {
                module.to(ScalarType.BFloat16);
            }
        }

        parameters = [.. this.modules.SelectMany(m => m.Module.named_parameters().Select(p => (Name: m.Prefix + p.name, p.parameter)))
            .Where(p => p.parameter.requires_grad)];
        if (parameters.Length == 0)
        {
            throw new ArgumentException("the model has no trainable parameters (none has requires_grad).", "model");
        }

        optimizer = new AdamWOptimizer(parameters, options.Beta1, options.Beta2, options.AdamEpsilon, options.WeightDecay, masterFloat32: bfloat16, decays);
        ema = options.UseEma ? new ExponentialMovingAverage(optimizer.MasterWeights, options.EmaDecay) : null;
        generator = new Generator((ulong)options.Seed, CPU);
    }

    /// <summary>True when the last <see cref="Execute"/> stopped at <see cref="TrainingOptions.MaxDuration"/>.</summary>
    public bool StoppedByTimeLimit { get; private set; }

    private int UsableBatches => task.BatchesPerEpoch / options.GradientAccumulationSteps * options.GradientAccumulationSteps;

    private long TotalSteps => options.MaxSteps ?? (long)options.Epochs * (UsableBatches / options.GradientAccumulationSteps);

    /// <summary>Resumes from the newest checkpoint when there is one, trains until a stop condition, writes the last checkpoint.</summary>
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
            Log.ContinuingFromInitialStep(logger, step, momentWindowsLeft);
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
                foreach (TBatch batch in task.Epoch(epoch, startBatch, cancellationToken))
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
                            Log.SkippedNonFiniteStep(logger, step, windowLoss);
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
                // The data order may throw on cancellation; the engine's rule is to return, not throw.
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

        Log.Stopped(logger, step, stopReason);
        if (lastCheckpointStep != step)
        {
            SaveCheckpoint();
        }

        FinishModel();
        return new TrainingResult(step, losses.Count, resumedFrom, windowCount > 0 ? windowLossSum / windowCount : lastAverage,
            losses, skipped, cancelled, lastCheckpoint, clock.Elapsed, task.DataWait);
    }

    /// <summary>
    /// One optimizer step on a given batch, as <see cref="Execute"/> takes it (forward, loss, backward, clipping,
    /// AdamW at the peak learning rate, EMA), without data order, progress or checkpoints: the hook the benchmarks time.
    /// </summary>
    public double StepOnBatch(TBatch batch)
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

        if (options.MaxDuration is { } limit && clock.Elapsed >= limit)
        {
            StoppedByTimeLimit = true;
            return $"reached MaxDuration {limit}";
        }

        return null;
    }

    // One forward and backward pass; returns the micro-batch's (unscaled) loss.
    private double MicroStep(TBatch batch)
    {
        using var scope = NewDisposeScope();
        Tensor loss = task.Loss(batch, generator);
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

        itemsThisRun += task.ItemCount(batch);
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
            Log.SkippedNonFiniteGradient(logger, step, norm, loss);
            return false;
        }

        optimizer.Step(learningRate);
        optimizer.ZeroGrad();
        task.AfterOptimizerStep();
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
            itemsThisRun / seconds, task.DataWait, clock.Elapsed));
        if (step % options.LogEverySteps == 0)
        {
            Log.TrainingStep(logger, step, average, learningRate, itemsThisRun / seconds, task.DataWait.TotalSeconds);
            lastAverage = average;
            windowLossSum = 0;
            windowCount = 0;
        }
    }

    public void Dispose()
    {
        optimizer.Dispose();
        ema?.Dispose();
        generator.Dispose();
    }
}
