using Diffusion.Models;
using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Diffusion.Internal;
using Diffusion.IO;

namespace Diffusion.Training;

/// <summary>
/// The trainer's checkpoint files: one safetensors file per checkpoint (<c>checkpoint-00000500.safetensors</c>)
/// holding the model (<c>model.*</c>), the EMA weights (<c>ema.*</c>), the optimizer state (<c>adamw.*</c>) and
/// the generator state, with the step, epoch and loader position as JSON metadata. Each file is written
/// to a temporary name and renamed, so a crash mid-write leaves the previous checkpoint intact; the next
/// training run on the folder deletes such hidden temporary files. <c>Trainer</c> (U-Nets) and <c>ClipTrainer</c>
/// (CLIP) both write this format, through the one training engine.
/// </summary>
public static class TrainingCheckpoint
{
    internal const string StateKey = "diffusion.training.state";
    internal const string ModelConfigKey = "diffusion.model.config";
    internal const string ModelPrefix = "model.";
    internal const string EmaPrefix = "ema.";
    internal const string OptimizerPrefix = "adamw.";
    internal const string GeneratorKey = "rng.generator";
    private const string FilePrefix = "checkpoint-";
    private const string FileSuffix = ".safetensors";

    /// <summary>The newest complete checkpoint in a folder, by step number, or null when there is none.</summary>
    /// <param name="directory">The checkpoint folder (need not exist).</param>
    /// <returns>The checkpoint's path, or null.</returns>
    public static string? FindLatest(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return List(directory).LastOrDefault().Path;
    }

    /// <summary>Copies a checkpoint's weights into a model, by state-dict key.</summary>
    /// <param name="checkpointPath">A file written by <c>Trainer</c> or <c>ClipTrainer</c>.</param>
    /// <param name="model">The model, built with the same options as the trained one.</param>
    /// <param name="useEma">Take the EMA weights where the checkpoint has them (better samples); otherwise the raw weights.</param>
    /// <exception cref="InvalidDataException">The file is not a valid checkpoint or its keys or shapes do not match the model.</exception>
    public static void LoadWeights(string checkpointPath, nn.Module model, bool useEma = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> tensors = SafeTensors.Load(checkpointPath);
        Dictionary<string, Tensor> targets = model.state_dict();
        bool hasEma = tensors.Keys.Any(k => k.StartsWith(EmaPrefix, StringComparison.Ordinal));
        using var noGrad = no_grad();
        foreach ((string key, Tensor target) in targets)
        {
            Tensor? source = useEma && hasEma && tensors.TryGetValue(EmaPrefix + key, out Tensor? ema) ? ema
                : tensors.GetValueOrDefault(ModelPrefix + key);
            if (source is null || !source.shape.SequenceEqual(target.shape))
            {
                throw new InvalidDataException(
                    $"{checkpointPath}: the checkpoint has no weights '{ModelPrefix}{key}' of shape [{string.Join(',', target.shape)}]; was it trained with the same model options?");
            }

            target.copy_(source);
        }
    }

    /// <summary>
    /// Rebuilds the trained model from a checkpoint alone: the model's <c>config.json</c> text that the trainer
    /// recorded in the checkpoint (for any <see cref="IPretrainedModel"/>: <see cref="UNet"/>, <see cref="ConditionalUNet"/>,
    /// <see cref="UNet2DModel"/>, ...) picks the class and its options, then <see cref="LoadWeights"/> copies the weights.
    /// </summary>
    /// <param name="checkpointPath">A file written by <c>Trainer</c>.</param>
    /// <param name="useEma">Take the EMA weights where the checkpoint has them (better samples); otherwise the raw weights.</param>
    /// <param name="device">Where to put the model; null keeps it on the CPU.</param>
    /// <returns>The model in eval mode; the caller owns and disposes it.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid checkpoint, records no model config (written before
    /// checkpoints carried one: build the model with its options and call <see cref="LoadWeights"/>), or does not fit the config.</exception>
    public static nn.Module LoadModel(string checkpointPath, bool useEma = true, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpointPath);
        SafeTensorsHeader header = SafeTensors.ReadHeader(checkpointPath);
        if (!header.Metadata.TryGetValue(ModelConfigKey, out string? config))
        {
            throw new InvalidDataException(
                $"{checkpointPath}: the checkpoint records no model config (it predates them, or the model has none); build the model with the options it was trained with and call TrainingCheckpoint.LoadWeights.");
        }

        nn.Module model = DataFile.Naming(checkpointPath, () => PretrainedModel.FromConfigJson(config));

        return Disposal.DisposeOnFailure(model, loaded =>
        {
            LoadWeights(checkpointPath, loaded, useEma);
            if (device is not null)
            {
                loaded.to(device);
            }

            loaded.eval();
        });
    }

    internal static string PathFor(string directory, long step) =>
        Path.Combine(directory, FilePrefix + step.ToString("D8", CultureInfo.InvariantCulture) + FileSuffix);

    internal static List<(long Step, string Path)> List(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var found = new List<(long, string)>();
        foreach (string file in Directory.EnumerateFiles(directory, FilePrefix + "*" + FileSuffix))
        {
            string middle = Path.GetFileName(file)[FilePrefix.Length..^FileSuffix.Length];
            if (middle.Length == 8 && long.TryParse(middle, NumberStyles.None, CultureInfo.InvariantCulture, out long step))
            {
                found.Add((step, file));
            }
        }

        found.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return found;
    }

    /// <summary>
    /// Deletes the hidden temporary files (<c>.checkpoint-00000500.safetensors.GUID.tmp</c>) that a process
    /// killed while writing a checkpoint leaves behind; each is as large as a checkpoint. Only the trainer
    /// that owns the folder calls this, before it writes anything.
    /// </summary>
    internal static int DeleteTemporaryFiles(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return 0;
        }

        int deleted = 0;
        foreach (string file in Directory.EnumerateFiles(directory, "." + FilePrefix + "*" + FileSuffix + ".*.tmp"))
        {
            File.Delete(file);
            deleted++;
        }

        return deleted;
    }

    /// <summary>
    /// Refuses a generator state that libtorch's <c>CPUGeneratorImpl::set_state</c> would reject: TorchSharp
    /// 0.107 does not catch that error, so it would end the process instead of throwing.
    /// </summary>
    /// <remarks>
    /// libtorch checks a byte tensor of <c>sizeof(CPUGeneratorImplState)</c> bytes whose mt19937 fields are valid:
    /// <c>left</c> (int32 at byte 8) in [1, 624], <c>seeded</c> (int32 at 12) non-zero, <c>next</c> (uint64 at 16,
    /// read as uint32) at most 624. A state the engine wrote also has left + next = 625 (or 1, 0 when fresh);
    /// anything else would let the engine read past its 624 words, so it is refused too.
    /// </remarks>
    internal static void CheckGeneratorState(Tensor state, long expectedBytes, string path)
    {
        const int StateWords = 624;
        string problem;
        if (state.dtype != ScalarType.Byte || state.dim() != 1 || state.shape[0] != expectedBytes || expectedBytes < 24)
        {
            problem = $"must be uint8 [{expectedBytes}]; got {state.dtype} [{string.Join(',', state.shape)}]";
        }
        else
        {
            byte[] head = state[..24].data<byte>().ToArray();
            int left = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(8));
            int seeded = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(12));
            uint next = (uint)BinaryPrimitives.ReadUInt64LittleEndian(head.AsSpan(16));
            bool valid = seeded != 0 && left is >= 1 and <= StateWords && next <= StateWords && (left + next == StateWords + 1 || (left == 1 && next == 0));
            if (valid)
            {
                return;
            }

            problem = $"is not a valid mt19937 state (left {left}, seeded {seeded}, next {next})";
        }

        throw new InvalidDataException($"{path}: the generator state '{GeneratorKey}' {problem}.");
    }

    /// <summary>
    /// Writes a checkpoint atomically. <paramref name="metadata"/> holds the training state under
    /// <see cref="StateKey"/> and whatever the trainer adds (<see cref="TrainingLoop{TBatch}"/> builds it in one place).
    /// </summary>
    internal static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata) =>
        SafeTensors.Save(tensors, path, metadata);

    /// <summary>The JSON entry of the training state, for the metadata of <see cref="Write"/>.</summary>
    internal static string StateJson(CheckpointState state) => JsonSerializer.Serialize(state);

    internal static (Dictionary<string, Tensor> Tensors, CheckpointState State, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        SafeTensorsHeader header = SafeTensors.ReadHeader(path);
        if (!header.Metadata.TryGetValue(StateKey, out string? json))
        {
            throw new InvalidDataException($"{path}: not a training checkpoint (no '{StateKey}' metadata).");
        }

        CheckpointState? state;
        try
        {
            state = JsonSerializer.Deserialize<CheckpointState>(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the checkpoint's training state is not valid JSON: {e.Message}", e);
        }

        if (state is null || state.FormatVersion != CheckpointState.CurrentFormatVersion || state.Step < 0 || state.Epoch < 0 || state.BatchInEpoch < 0
            || state.EmaUpdates < 0 || state.OptimizerSteps < 0 || state.BatchSize < 1 || state.GradientAccumulationSteps < 1 || state.DatasetCount < 1)
        {
            throw new InvalidDataException($"{path}: the checkpoint's training state is missing, out of range or from an unknown format version: {json}");
        }

        return (SafeTensors.Load(path), state, header.Metadata);
    }
}

/// <summary>Where training stood when a checkpoint was written.</summary>
internal sealed record CheckpointState(
    int FormatVersion, long Step, int Epoch, int BatchInEpoch, long EmaUpdates, long OptimizerSteps, int BatchSize, int GradientAccumulationSteps, long Seed, int DatasetCount)
{
    public const int CurrentFormatVersion = 1;
}
