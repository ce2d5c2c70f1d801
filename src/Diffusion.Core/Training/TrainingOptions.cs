using Diffusion.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Diffusion.Training;

/// <summary>
/// The settings of the training engine that <c>Trainer</c> and <c>ClipTrainer</c> share: one name, one meaning, one
/// rule and one message per setting (docs/decisions/0008-training-engine.md). <c>TrainerOptions</c> and
/// <c>ClipTrainerOptions</c> derive from it and add their own settings (the loss, the data, the device).
/// </summary>
/// <remarks>
/// The defaults written here are the book's (chapter 15), which <c>TrainerOptions</c> keeps. Where CLIP's recipe
/// differs (batch size, AdamW's hyper-parameters, warm-up, EMA, step limit, logging), <c>ClipTrainerOptions</c>
/// sets its own defaults in its constructor, and each property below names both.
/// </remarks>
public abstract record TrainingOptions
{
    /// <summary>Keeps derived records to this library's trainers.</summary>
    private protected TrainingOptions()
    {
    }

    /// <summary>Passes over the dataset, when <see cref="MaxSteps"/> is null.</summary>
    /// <value>The default value is 1.</value>
    public int Epochs { get; init; } = 1;

    /// <summary>
    /// Stop after this many optimizer steps in total (resumed steps included), whatever <see cref="Epochs"/> says;
    /// the cosine schedule spans them. Null: <see cref="Epochs"/> decide.
    /// </summary>
    /// <value>The default value is null (no limit); <c>ClipTrainerOptions</c>: 1000.</value>
    public long? MaxSteps { get; init; }

    /// <summary>
    /// The optimizer steps the model's starting weights have already had, for a run that starts from weights
    /// without a checkpoint (say, weights a person committed or downloaded, or a model loaded from an earlier
    /// <c>ClipTrainer</c>'s <c>checkpoint-000100/</c> folder): the run goes on from this step as a resumed run would.
    /// The learning-rate schedule (warm-up, cosine) and the EMA decay's warm-up continue from here instead of
    /// starting again from 0, steps are numbered from here (progress, logs, checkpoint names, the result's step
    /// count), and <see cref="MaxSteps"/> and the step total that <see cref="Epochs"/> implies count these steps
    /// too. AdamW's moment estimates cannot be recovered from weights alone and start from zero (with their bias
    /// correction from its first step), the EMA starts from the starting weights, and the data order starts at the
    /// first batch of epoch 0. Ignored when <c>Fit</c> resumes from a checkpoint: the checkpoint carries its own
    /// step. See also <see cref="MomentWarmupSteps"/>.
    /// </summary>
    /// <value>The default value is 0 (a fresh run).</value>
    public long InitialStep { get; init; }

    /// <summary>
    /// For a run that starts at <see cref="InitialStep"/> &gt; 0 without a checkpoint: this many optimizer steps'
    /// worth of batches are first used only to fill AdamW's moment estimates (gradients computed, weights left
    /// exactly as they are, no step counted or reported), and the run's first real step then takes the continued
    /// schedule's learning rate. Without it, AdamW's first steps from empty moments move every weight by about
    /// the learning rate whatever its gradient (m̂/√v̂ = ±1): from the Flowers sample's committed weights at
    /// 1e-3 that lifted the training loss from 0.10 to 0.36 in one step. The defaults are 1/(1 − <see cref="Beta1"/>)
    /// at the default β1, the span the first moment averages over. 0 turns it off.
    /// </summary>
    /// <value>The default value is 20 (β1 0.95); <c>ClipTrainerOptions</c>: 10 (β1 0.9).</value>
    public int MomentWarmupSteps { get; init; } = 20;

    /// <summary>Stop this call after this much wall-clock time, saving a checkpoint, or null for no limit.</summary>
    /// <value>The default value is null.</value>
    public TimeSpan? MaxDuration { get; init; }

    /// <summary>
    /// Items per micro-batch: images for <c>Trainer</c>; image–caption pairs for <c>ClipTrainer</c>, where every
    /// other pair of the batch is a negative and the size is capped at the dataset's.
    /// </summary>
    /// <value>The default value is 16; <c>ClipTrainerOptions</c>: 64.</value>
    public int BatchSize { get; init; } = 16;

    /// <summary>Micro-batches whose gradients are summed before each optimizer step (for CLIP each micro-batch is its own contrastive batch).</summary>
    /// <value>The default value is 1.</value>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Peak learning rate of AdamW, reached after <see cref="WarmupSteps"/>.</summary>
    /// <value>The default value is 1e-4 (the book's); <c>ClipTrainerOptions</c>: 5e-4.</value>
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>AdamW β1.</summary>
    /// <value>The default value is 0.95 (the book's); <c>ClipTrainerOptions</c>: 0.9.</value>
    public double Beta1 { get; init; } = 0.95;

    /// <summary>AdamW β2.</summary>
    /// <value>The default value is 0.999; <c>ClipTrainerOptions</c>: 0.98 (CLIP's paper).</value>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>
    /// AdamW decoupled weight decay. <c>Trainer</c> applies it to every parameter; <c>ClipTrainer</c> to weight
    /// matrices only (not to biases, norms, embedding vectors, <c>logit_scale</c> or the SigLIP bias, as open_clip).
    /// </summary>
    /// <value>The default value is 1e-5 (the book's); <c>ClipTrainerOptions</c>: 0.2 (CLIP's paper).</value>
    public double WeightDecay { get; init; } = 1e-5;

    /// <summary>AdamW ε.</summary>
    /// <value>The default value is 1e-8; <c>ClipTrainerOptions</c>: 1e-6 (CLIP's paper).</value>
    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>Optimizer steps of linear learning-rate warm-up.</summary>
    /// <value>The default value is 300 (the book's); <c>ClipTrainerOptions</c>: 50.</value>
    public int WarmupSteps { get; init; } = 300;

    /// <summary>The learning rate after warm-up.</summary>
    /// <value>The default value is <see cref="LearningRateSchedule.Cosine"/>.</value>
    public LearningRateSchedule LearningRateSchedule { get; init; } = LearningRateSchedule.Cosine;

    /// <summary>Clip the gradients' global L2 norm to this value, or null for no clipping.</summary>
    /// <value>The default value is 1.0.</value>
    public double? MaxGradNorm { get; init; } = 1.0;

    /// <summary>Keep an exponential moving average of the weights and leave it in the model at the end (the raw weights stay in the checkpoint).</summary>
    /// <value>The default value is true; <c>ClipTrainerOptions</c>: false.</value>
    public bool UseEma { get; init; } = true;

    /// <summary>Largest EMA decay; the decay warms up as min(EmaDecay, (1 + step) / (10 + step)).</summary>
    /// <value>The default value is 0.9999.</value>
    public double EmaDecay { get; init; } = 0.9999;

    /// <summary>
    /// Seed of the run: of the engine's generator (noise and timesteps) and of the trainer's data order and
    /// augmentation. A batch depends only on (seed, epoch, index), so a resumed run sees the same data.
    /// </summary>
    /// <value>The default value is 0.</value>
    public long Seed { get; init; }

    /// <summary>
    /// Folder for checkpoints (<c>checkpoint-00000100.safetensors</c>); <c>Fit</c> resumes from the newest one there.
    /// Null: no checkpoints.
    /// </summary>
    /// <value>The default value is null.</value>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Write a checkpoint every this many optimizer steps (and always at the end, and on cancellation).</summary>
    /// <value>The default value is 500.</value>
    public int CheckpointEverySteps { get; init; } = 500;

    /// <summary>How many checkpoints to keep; older ones are deleted once a newer one is complete.</summary>
    /// <value>The default value is 3.</value>
    public int KeepCheckpoints { get; init; } = 3;

    /// <summary>What to do on a NaN or infinite loss or gradient norm.</summary>
    /// <value>The default value is <see cref="NonFiniteLossPolicy.Stop"/>.</value>
    public NonFiniteLossPolicy OnNonFiniteLoss { get; init; } = NonFiniteLossPolicy.Stop;

    /// <summary>Write a log line ("step 100, average loss …") every this many optimizer steps.</summary>
    /// <value>The default value is 100; <c>ClipTrainerOptions</c>: 10.</value>
    public int LogEverySteps { get; init; } = 100;

    /// <summary>Logging.</summary>
    /// <value>The default value is <see cref="NullLoggerFactory.Instance"/>.</value>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Checks every option and throws one exception listing every violation.</summary>
    /// <exception cref="ArgumentException">One or more options are out of range.</exception>
    public void Validate()
    {
        var errors = new List<string>();
        AddViolations(errors);
        OptionsValidation.ThrowIfAny(GetType().Name, errors);
    }

    /// <summary>
    /// Adds every violation to <paramref name="errors"/>, one message each ("Name must …; got …."): the shared
    /// options' here, in declaration order; a derived record adds its own after calling this.
    /// </summary>
    private protected virtual void AddViolations(List<string> errors)
    {
        OptionsValidation.Check(errors, Epochs >= 1, $"Epochs must be at least 1; got {Epochs}.");
        OptionsValidation.Check(errors, MaxSteps is null or >= 1, $"MaxSteps must be at least 1 or null; got {MaxSteps}.");
        OptionsValidation.Check(errors, InitialStep >= 0, $"InitialStep must be 0 or more; got {InitialStep}.");
        OptionsValidation.Check(errors, MomentWarmupSteps >= 0, $"MomentWarmupSteps must be 0 or more; got {MomentWarmupSteps}.");
        OptionsValidation.Check(errors, MaxDuration is null || MaxDuration > TimeSpan.Zero, $"MaxDuration must be positive or null; got {MaxDuration}.");
        OptionsValidation.Check(errors, BatchSize >= 1, $"BatchSize must be at least 1; got {BatchSize}.");
        OptionsValidation.Check(errors, GradientAccumulationSteps >= 1, $"GradientAccumulationSteps must be at least 1; got {GradientAccumulationSteps}.");
        OptionsValidation.Check(errors, LearningRate > 0 && double.IsFinite(LearningRate), $"LearningRate must be positive and finite; got {LearningRate}.");
        OptionsValidation.Check(errors, Beta1 is >= 0 and < 1, $"Beta1 must be in [0, 1); got {Beta1}.");
        OptionsValidation.Check(errors, Beta2 is >= 0 and < 1, $"Beta2 must be in [0, 1); got {Beta2}.");
        OptionsValidation.Check(errors, WeightDecay >= 0, $"WeightDecay must be 0 or more; got {WeightDecay}.");
        OptionsValidation.Check(errors, AdamEpsilon > 0, $"AdamEpsilon must be positive; got {AdamEpsilon}.");
        OptionsValidation.Check(errors, WarmupSteps >= 0, $"WarmupSteps must be 0 or more; got {WarmupSteps}.");
        OptionsValidation.Check(errors, Enum.IsDefined(LearningRateSchedule), $"LearningRateSchedule must be Cosine or Constant; got {(int)LearningRateSchedule}.");
        OptionsValidation.Check(errors, MaxGradNorm is null or > 0, $"MaxGradNorm must be positive or null; got {MaxGradNorm}.");
        OptionsValidation.Check(errors, EmaDecay is > 0 and < 1, $"EmaDecay must be in (0, 1); got {EmaDecay}.");
        OptionsValidation.Check(errors, CheckpointEverySteps >= 1, $"CheckpointEverySteps must be at least 1; got {CheckpointEverySteps}.");
        OptionsValidation.Check(errors, KeepCheckpoints >= 1, $"KeepCheckpoints must be at least 1; got {KeepCheckpoints}.");
        OptionsValidation.Check(errors, Enum.IsDefined(OnNonFiniteLoss), $"OnNonFiniteLoss must be Stop or SkipStep; got {(int)OnNonFiniteLoss}.");
        OptionsValidation.Check(errors, LogEverySteps >= 1, $"LogEverySteps must be at least 1; got {LogEverySteps}.");
        OptionsValidation.Check(errors, LoggerFactory is not null, "LoggerFactory must not be null.");
    }
}
