using System.Diagnostics;
using Diffusion.IO;
using Diffusion.Optimization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.Clip;

/// <summary>
/// Trains a <see cref="ClipModel"/> contrastively on captioned images: each step embeds a batch of
/// images and their captions, and the loss pulls matched pairs together and pushes the batch's other
/// pairs apart. AdamW with linear warm-up and cosine decay (<see cref="WarmupCosineSchedule"/>),
/// <c>logit_scale</c> clamped to [0, ln 100] after every step (as open_clip), optional checkpoints.
/// </summary>
/// <remarks>Synchronous; one step at a time on the model's device. Not thread-safe. Disposing the trainer disposes <see cref="SigLip"/>, not the model.</remarks>
public sealed class ClipTrainer : IDisposable
{
    /// <summary>File in each checkpoint folder that holds AdamW's moments and step counts (safetensors).</summary>
    public const string OptimizerStateFileName = "optimizer.safetensors";

    private static readonly double MaxLogLogitScale = Math.Log(ClipModel.MaxLogitScale);
    private readonly ILogger logger;

    /// <summary>Creates a trainer.</summary>
    /// <param name="model">The model to train in place; it must have a <see cref="ClipModel.Tokenizer"/>.</param>
    /// <param name="options">Settings; validated.</param>
    /// <param name="loggerFactory">Where log messages go; none when null.</param>
    /// <exception cref="ArgumentException">The options break a rule, or the model has no tokenizer.</exception>
    public ClipTrainer(ClipModel model, ClipTrainerOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (model.Tokenizer is null)
        {
            throw new ArgumentException("model must have a Tokenizer to turn captions into ids.", nameof(model));
        }

        Model = model;
        Options = options;
        SigLip = options.Loss == ClipLossKind.SigLip ? new SigLipLoss() : null;
        logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ClipTrainer>();
    }

    /// <summary>The model being trained.</summary>
    public ClipModel Model { get; }

    /// <summary>The settings.</summary>
    public ClipTrainerOptions Options { get; }

    /// <summary>The SigLIP loss (and its learned bias) when <see cref="ClipTrainerOptions.Loss"/> is <see cref="ClipLossKind.SigLip"/>; otherwise null. The trainer owns it.</summary>
    public SigLipLoss? SigLip { get; }

    /// <summary>Disposes <see cref="SigLip"/> (the model stays with its owner).</summary>
    public void Dispose() => SigLip?.Dispose();

    /// <summary>Trains until <see cref="ClipTrainerOptions.Steps"/>, the time limit or cancellation, whichever comes first.</summary>
    /// <param name="dataset">At least 2 image–caption pairs.</param>
    /// <param name="progress">Told after every step; optional.</param>
    /// <param name="cancellationToken">Stops training between steps; a checkpoint is written first when a folder is set.</param>
    /// <returns>What happened.</returns>
    /// <exception cref="ArgumentException">The dataset is too small or an item is not a <c>[3,H,W]</c> image.</exception>
    /// <exception cref="InvalidDataException">The checkpoint to resume from is broken or does not fit the model.</exception>
    /// <exception cref="InvalidOperationException">The checkpoint to resume from was trained with another loss.</exception>
    public ClipTrainingResult Fit(IClipDataset dataset, IProgress<ClipTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Count < 2)
        {
            throw new ArgumentException($"dataset must hold at least 2 pairs; got {dataset.Count}.", nameof(dataset));
        }

        (AdamW optimizer, string[] stateNames) = CreateOptimizer();
        using var optimizerLifetime = optimizer;
        int startStep = Options.ResumeFrom is null ? 0 : Resume(Options.ResumeFrom, optimizer, stateNames);
        int batchSize = Math.Min(Options.BatchSize, dataset.Count);
        var schedule = new WarmupCosineSchedule(Options.LearningRate, Options.WarmupSteps, Options.Steps);
        var batches = new ClipBatchSampler(dataset, batchSize, Options.Seed, Options.RandomHorizontalFlip);
        List<Parameter> parameters = [.. Model.parameters(), .. SigLip?.parameters() ?? []];
        Log.TrainingStarted(logger, Options.Steps, startStep, batchSize, dataset.Count, parameters.Sum(p => p.numel()), Options.Loss);

        var losses = new List<float>();
        var clock = Stopwatch.StartNew();
        string? lastCheckpoint = null;
        double learningRate = 0;
        int step = startStep;
        bool cancelled = false, timedOut = false;
        Model.train();
        while (step < Options.Steps)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                cancelled = true;
                Log.TrainingCancelled(logger, step);
                break;
            }

            learningRate = schedule.LearningRateAt(step);
            float loss = TrainStep(optimizer, batches, step, learningRate);
            losses.Add(loss);
            step++;
            float scale = Model.LogitScale;
            progress?.Report(new ClipTrainingProgress(step, Options.Steps, loss, learningRate, scale, clock.Elapsed));
            if (step % Options.LogEvery == 0)
            {
                Log.StepCompleted(logger, step, Options.Steps, loss, learningRate, scale, (step - startStep) / clock.Elapsed.TotalSeconds);
            }

            if (Options.CheckpointEvery > 0 && step % Options.CheckpointEvery == 0 && step < Options.Steps)
            {
                lastCheckpoint = SaveCheckpoint(step, loss, learningRate, optimizer, stateNames);
            }

            if (Options.MaxDuration is { } limit && clock.Elapsed >= limit && step < Options.Steps)
            {
                timedOut = true;
                break;
            }
        }

        Model.eval();
        if (Options.CheckpointDirectory is not null && step > startStep)
        {
            lastCheckpoint = SaveCheckpoint(step, losses.Count > 0 ? losses[^1] : float.NaN, learningRate, optimizer, stateNames);
        }

        Log.TrainingFinished(logger, step, clock.Elapsed);
        return new ClipTrainingResult(step, losses, clock.Elapsed, cancelled, timedOut, lastCheckpoint);
    }

    /// <summary>AdamW in two groups, and the names of its per-parameter states in the order it keeps them.</summary>
    private (AdamW Optimizer, string[] StateNames) CreateOptimizer()
    {
        // open_clip: no weight decay on parameters with fewer than 2 dimensions (biases, LayerNorm
        // gains, the class embedding, logit_scale, the SigLIP bias).
        var all = Model.named_parameters().Select(p => (name: p.name, p.parameter))
            .Concat(SigLip?.named_parameters().Select(p => (name: "siglip." + p.name, p.parameter)) ?? []).ToList();
        var decay = all.Where(p => p.parameter.dim() >= 2).ToList();
        var noDecay = all.Where(p => p.parameter.dim() < 2).ToList();
        var groups = new List<AdamW.ParamGroup>
        {
            new(decay.Select(p => p.parameter), Options.LearningRate, Options.Beta1, Options.Beta2, Options.Epsilon, Options.WeightDecay, false, false),
            new(noDecay.Select(p => p.parameter), Options.LearningRate, Options.Beta1, Options.Beta2, Options.Epsilon, 0.0, false, false),
        };
        AdamW optimizer = optim.AdamW(groups, Options.LearningRate, Options.Beta1, Options.Beta2, Options.Epsilon, Options.WeightDecay);
        var ordered = decay.Concat(noDecay).ToList();
        List<Parameter> kept = [.. optimizer.parameters()];
        if (kept.Count != ordered.Count || optimizer.state_dict().State.Count != ordered.Count
            || !kept.Zip(ordered).All(pair => pair.First.Handle == pair.Second.parameter.Handle))
        {
            optimizer.Dispose();
            throw new InvalidOperationException("TorchSharp's AdamW does not keep its parameters in the order they were given; its state could not be named for checkpoints.");
        }

        return (optimizer, [.. ordered.Select(p => p.name)]);
    }

    /// <summary>AdamW's per-parameter states with the names <see cref="CreateOptimizer"/> gave them (same order).</summary>
    private static IEnumerable<(string Name, AdamW.State State)> NamedStates(AdamW optimizer, string[] names) =>
        names.Zip(optimizer.state_dict().State.Cast<AdamW.State>());

    /// <summary>AdamW's moments and step counts by parameter name, for <see cref="OptimizerStateFileName"/>.</summary>
    private static Dictionary<string, Tensor> OptimizerState(AdamW optimizer, string[] names)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach ((string name, AdamW.State state) in NamedStates(optimizer, names))
        {
            tensors[$"exp_avg.{name}"] = state.exp_avg;
            tensors[$"exp_avg_sq.{name}"] = state.exp_avg_sq;
            tensors[$"step.{name}"] = tensor(new[] { state.step });
        }

        return tensors;
    }

    /// <summary>
    /// Reads and checks a checkpoint's AdamW state against this optimizer: every name present with the state's shape
    /// and dtype, moments finite, second moments non-negative, step counts in [0, <paramref name="checkpointStep"/>].
    /// Null (with a warning) for a checkpoint written before the file existed. The caller owns the tensors.
    /// </summary>
    private Dictionary<string, Tensor>? ReadOptimizerState(AdamW optimizer, string[] names, string folder, int checkpointStep)
    {
        string path = Path.Combine(folder, OptimizerStateFileName);
        if (!File.Exists(path))
        {
            Log.NoOptimizerState(logger, folder);
            return null;
        }

        Dictionary<string, Tensor> saved = SafeTensors.Load(path);
        try
        {
            using var scope = NewDisposeScope();
            foreach ((string name, AdamW.State state) in NamedStates(optimizer, names))
            {
                Tensor expAvg = Saved($"exp_avg.{name}", state.exp_avg);
                Tensor expAvgSq = Saved($"exp_avg_sq.{name}", state.exp_avg_sq);
                long step = Saved($"step.{name}", tensor(new[] { 0L })).item<long>();
                if (!expAvg.isfinite().all().item<bool>() || !expAvgSq.isfinite().all().item<bool>() || expAvgSq.lt(0).any().item<bool>())
                {
                    throw new InvalidDataException($"{path}: the moments of '{name}' are not finite, or the second moment is negative.");
                }

                if (step < 0 || step > checkpointStep)
                {
                    throw new InvalidDataException($"{path}: '{name}' has step count {step}; expected 0 to the checkpoint's step {checkpointStep}.");
                }
            }

            return saved;
        }
        catch
        {
            foreach (Tensor t in saved.Values)
            {
                t.Dispose();
            }

            throw;
        }

        // The saved tensor of that name, checked against the shape and dtype it must have.
        Tensor Saved(string key, Tensor like)
        {
            if (!saved.TryGetValue(key, out Tensor? value) || !value.shape.SequenceEqual(like.shape) || value.dtype != like.dtype)
            {
                throw new InvalidDataException($"{path}: expected '{key}' as {like.dtype} [{string.Join(',', like.shape)}]; the optimizer state does not fit this model.");
            }

            return value;
        }
    }

    /// <summary>Copies checked AdamW state (from <see cref="ReadOptimizerState"/>) into the optimizer.</summary>
    private static void ApplyOptimizerState(AdamW optimizer, string[] names, Dictionary<string, Tensor> saved)
    {
        using var noGrad = no_grad();
        foreach ((string name, AdamW.State state) in NamedStates(optimizer, names))
        {
            state.exp_avg.copy_(saved[$"exp_avg.{name}"]);
            state.exp_avg_sq.copy_(saved[$"exp_avg_sq.{name}"]);
            state.step = saved[$"step.{name}"].item<long>();
        }
    }

    private float TrainStep(AdamW optimizer, ClipBatchSampler batches, int step, double learningRate)
    {
        using var scope = NewDisposeScope();
        (Tensor pixels, string[] captions) = batches.Load(step, Model.ImageProcessor); // [B, 3, S, S]
        Device device = Model.LogitScaleParameter.device;
        Tensor ids = Model.Tokenizer!.Tokenize(captions).to(device); // [B, T]
        Tensor image = ClipModel.Normalize(Model.GetImageFeatures(pixels.to(device))); // [B, P]
        Tensor text = ClipModel.Normalize(Model.GetTextFeatures(ids)); // [B, P]
        Tensor scale = Model.GetLogitScale();
        Tensor loss = SigLip is null ? ClipLoss.Compute(image, text, scale) : SigLip.call(image, text, scale);

        optimizer.zero_grad();
        loss.backward();
        if (Options.MaxGradNorm is { } maxNorm)
        {
            nn.utils.clip_grad_norm_(optimizer.parameters(), maxNorm);
        }

        foreach (var group in optimizer.ParamGroups)
        {
            group.LearningRate = learningRate;
        }

        optimizer.step();
        using (no_grad())
        {
            Model.LogitScaleParameter.clamp_(0, MaxLogLogitScale);
        }

        return loss.item<float>();
    }

    /// <summary>
    /// Resumes from a checkpoint folder: checks its training state and optimizer state first, then loads the weights
    /// (checked before they are copied) and the optimizer state, so a refused checkpoint leaves the model as it was.
    /// </summary>
    private int Resume(string folder, AdamW optimizer, string[] stateNames)
    {
        string statePath = Path.Combine(folder, ClipTrainerState.FileName);
        if (!File.Exists(statePath))
        {
            throw new FileNotFoundException($"{folder} has no {ClipTrainerState.FileName}; not a ClipTrainer checkpoint.", statePath);
        }

        ClipTrainerState state = ClipTrainerState.Load(statePath);
        if (state.LossKind != Options.Loss)
        {
            throw new InvalidOperationException(
                $"{folder} was trained with the {state.LossKind} loss and these options ask for {Options.Loss}; resume with Loss = {state.LossKind}, or start a new run.");
        }

        Dictionary<string, Tensor>? moments = ReadOptimizerState(optimizer, stateNames, folder, state.Step);
        try
        {
            Model.LoadSafeTensors(Path.Combine(folder, ClipModel.WeightsFileName), strict: true);
            if (SigLip is not null && state.LogitBias is { } bias)
            {
                using var noGrad = no_grad();
                SigLip.parameters().Single().fill_(bias);
            }

            if (moments is not null)
            {
                ApplyOptimizerState(optimizer, stateNames, moments);
            }
        }
        finally
        {
            foreach (Tensor t in moments?.Values ?? Enumerable.Empty<Tensor>())
            {
                t.Dispose();
            }
        }

        Log.Resumed(logger, folder, state.Step);
        return state.Step;
    }

    private string? SaveCheckpoint(int step, float loss, double learningRate, AdamW optimizer, string[] stateNames)
    {
        if (Options.CheckpointDirectory is not { } root)
        {
            return null;
        }

        string final = Path.Combine(root, $"checkpoint-{step:D6}");
        string temp = Path.Combine(root, $".checkpoint-{step:D6}.{Guid.NewGuid():N}.tmp");
        var state = new ClipTrainerState
        {
            Step = step, TotalSteps = Options.Steps, Loss = loss, LearningRate = learningRate, LogitScale = Model.LogitScale,
            LossKind = Options.Loss, LogitBias = SigLip?.LogitBias, Seed = Options.Seed,
        };
        try
        {
            Model.Save(temp);
            AtomicFile.WriteAllText(Path.Combine(temp, ClipTrainerState.FileName), state.ToJson());
            using (NewDisposeScope())
            {
                SafeTensors.Save(OptimizerState(optimizer, stateNames), Path.Combine(temp, OptimizerStateFileName));
            }
            if (Directory.Exists(final))
            {
                Directory.Delete(final, recursive: true);
            }

            Directory.Move(temp, final); // the folder appears complete or not at all
        }
        catch
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }

            throw;
        }

        Log.CheckpointSaved(logger, final);
        return final;
    }
}
