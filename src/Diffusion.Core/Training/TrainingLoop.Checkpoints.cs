using TorchSharp.Modules;
using Diffusion.Internal;

namespace Diffusion.Training;

/// <summary>The engine's checkpoints: writing, rotating, resuming, and the weights left in the model at the end.</summary>
internal sealed partial class TrainingLoop<TBatch>
{
    /// <summary>The modules' state (parameters and buffers) under their checkpoint names.</summary>
    private IEnumerable<(string Name, Tensor Value)> ModelState() =>
        modules.SelectMany(m => m.Module.state_dict().Select(p => (m.Prefix + p.Key, p.Value)));

    /// <summary>
    /// The metadata of a checkpoint, built in this one place: the training state, then what the trainer adds
    /// (<see cref="TrainingTask{TBatch}.AddCheckpointMetadata"/>). A new entry for every checkpoint (say, the
    /// model's config) goes here or in the trainer's task.
    /// </summary>
    private Dictionary<string, string> CheckpointMetadata()
    {
        var state = new CheckpointState(CheckpointState.CurrentFormatVersion, step, epoch, batchInEpoch, ema?.Updates ?? 0,
            optimizer.StepCount, batchSize, options.GradientAccumulationSteps, options.Seed, task.DatasetCount);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [TrainingCheckpoint.StateKey] = TrainingCheckpoint.StateJson(state) };
        foreach ((string prefix, nn.Module module) in modules)
        {
            if (module is Models.IPretrainedModel pretrained)
            {
                // The architecture, so TrainingCheckpoint.LoadModel rebuilds it without being told the options.
                metadata[TrainingCheckpoint.ModelConfigKey + prefix] = pretrained.ToConfigJson();
            }
        }

        task.AddCheckpointMetadata(metadata);
        return metadata;
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

        foreach ((string name, Tensor value) in ModelState())
        {
            tensors[TrainingCheckpoint.ModelPrefix + name] = value.is_floating_point() ? value.to(float32) : value;
        }

        foreach ((string name, Tensor weight) in optimizer.MasterWeights)
        {
            tensors[TrainingCheckpoint.ModelPrefix + name] = weight; // float32 masters win over bf16 copies
        }

        ema?.AddStateTo(tensors, TrainingCheckpoint.EmaPrefix);
        optimizer.AddStateTo(tensors, TrainingCheckpoint.OptimizerPrefix);
        tensors[TrainingCheckpoint.GeneratorKey] = generator.get_state();
        string path = TrainingCheckpoint.PathFor(options.CheckpointDirectory, step);
        TrainingCheckpoint.Write(path, tensors, CheckpointMetadata());
        lastCheckpoint = path;
        lastCheckpointStep = step;
        Log.CheckpointSaved(logger, path);
        foreach ((long _, string old) in TrainingCheckpoint.List(options.CheckpointDirectory).SkipLast(options.KeepCheckpoints))
        {
            File.Delete(old);
        }
    }

    // Returns whether a checkpoint was loaded. Everything is checked before anything is copied, so a refused
    // checkpoint leaves the model's weights as they were.
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
            Log.DeletedTemporaryFiles(logger, deleted, options.CheckpointDirectory);
        }

        string? path = options.CheckpointDirectory is null ? null : TrainingCheckpoint.FindLatest(options.CheckpointDirectory);
        if (path is null)
        {
            return false;
        }

        (Dictionary<string, Tensor> tensors, CheckpointState state, IReadOnlyDictionary<string, string> metadata) = TrainingCheckpoint.Read(path);
        try
        {
            task.CheckCheckpointMetadata(metadata, path);
            if (state.BatchSize != batchSize || state.GradientAccumulationSteps != options.GradientAccumulationSteps
                || state.Seed != options.Seed || state.DatasetCount != task.DatasetCount)
            {
                throw new InvalidOperationException(
                    $"{path} was written with BatchSize {state.BatchSize}, GradientAccumulationSteps {state.GradientAccumulationSteps}, Seed {state.Seed} " +
                    $"and {state.DatasetCount} dataset items; this run has {batchSize}, {options.GradientAccumulationSteps}, {options.Seed} and {task.DatasetCount}. " +
                    "Exact resume needs the same values: restore them, or use another CheckpointDirectory.");
            }

            if (state.BatchInEpoch >= UsableBatches || state.BatchInEpoch % options.GradientAccumulationSteps != 0)
            {
                throw new InvalidDataException(
                    $"{path}: the checkpoint's loader position (epoch {state.Epoch}, batch {state.BatchInEpoch}) does not fit an epoch of {UsableBatches} usable batches.");
            }

            var weights = new List<(Tensor Target, Tensor Source)>();
            foreach ((string name, Tensor target) in ModelState())
            {
                if (!tensors.TryGetValue(TrainingCheckpoint.ModelPrefix + name, out Tensor? source) || !source.shape.SequenceEqual(target.shape))
                {
                    throw new InvalidDataException($"{path}: the checkpoint has no weights '{TrainingCheckpoint.ModelPrefix}{name}' of shape [{string.Join(',', target.shape)}].");
                }

                weights.Add((target, source));
            }

            if (!tensors.TryGetValue(TrainingCheckpoint.GeneratorKey, out Tensor? rng))
            {
                throw new InvalidDataException($"{path}: the checkpoint lacks the generator state '{TrainingCheckpoint.GeneratorKey}'.");
            }

            using (Tensor current = generator.get_state())
            {
                TrainingCheckpoint.CheckGeneratorState(rng, current.shape[0], path);
            }

            optimizer.LoadStateFrom(tensors, TrainingCheckpoint.OptimizerPrefix, state.OptimizerSteps, path, TrainingCheckpoint.ModelPrefix);
            ema?.LoadStateFrom(tensors, TrainingCheckpoint.EmaPrefix, state.EmaUpdates, path);
            generator.set_state(rng);
            using (no_grad())
            {
                foreach ((Tensor target, Tensor source) in weights)
                {
                    target.copy_(source);
                }
            }
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
        Log.Resumed(logger, path, step, epoch, batchInEpoch);
        return true;
    }

    /// <summary>Leaves float32 modules holding the final weights: the EMA's when there is one, else the trained ones.</summary>
    private void FinishModel()
    {
        using var noGrad = no_grad();
        IEnumerable<(string Name, Tensor Parameter)> current = parameters.Select(p => (p.Name, (Tensor)p.Parameter));
        if (bfloat16)
        {
            // Module.to(dtype) replaces every Parameter (the bf16 ones held in `parameters` are disposed), so the
            // float32 parameters are looked up again by name.
            var byName = new Dictionary<string, Parameter>(StringComparer.Ordinal);
            foreach ((string prefix, nn.Module module) in modules)
            {
                module.to(ScalarType.Float32);
                foreach ((string name, Parameter parameter) in module.named_parameters())
                {
                    byName[prefix + name] = parameter;
                }
            }

            foreach ((string name, Tensor master) in optimizer.MasterWeights)
            {
                byName[name].copy_(master);
            }

            current = [.. parameters.Select(p => (p.Name, (Tensor)byName[p.Name]))];
        }

        ema?.CopyTo(current);
    }
}
