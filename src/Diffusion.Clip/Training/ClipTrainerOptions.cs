using Diffusion.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Diffusion.Clip;

/// <summary>
/// Settings of <see cref="ClipTrainer"/>. The names are the training engine's, shared with <c>TrainerOptions</c>
/// (same name, same meaning, same rules); defaults follow CLIP's paper (AdamW β₂ 0.98, ε 1e-6, weight decay 0.2)
/// scaled to small runs.
/// </summary>
public sealed record ClipTrainerOptions : ITrainingOptions
{
    /// <summary>Passes over the dataset, when <see cref="MaxSteps"/> is null.</summary>
    /// <value>The default value is 1.</value>
    public int Epochs { get; init; } = 1;

    /// <summary>Optimizer steps in total (resumed steps included), whatever <see cref="Epochs"/> says; the cosine schedule spans them. Null: <see cref="Epochs"/> decide.</summary>
    /// <value>The default value is 1000.</value>
    public long? MaxSteps { get; init; } = 1000;

    /// <summary>
    /// The optimizer steps the model's starting weights have already had, for a run that starts from weights without a
    /// checkpoint (say, a model loaded from an earlier ClipTrainer's <c>checkpoint-000100/</c> folder): the schedule and
    /// step numbers go on from here, after <see cref="MomentWarmupSteps"/> windows that only fill AdamW's moments.
    /// Ignored when <see cref="ClipTrainer.Fit"/> resumes from a checkpoint.
    /// </summary>
    /// <value>The default value is 0 (a fresh run).</value>
    public long InitialStep { get; init; }

    /// <summary>For a run that starts at <see cref="InitialStep"/> &gt; 0: optimizer steps' worth of batches that only fill AdamW's moments (no weight changes). 10 = 1/(1 − <see cref="Beta1"/>).</summary>
    /// <value>The default value is 10.</value>
    public int MomentWarmupSteps { get; init; } = 10;

    /// <summary>Stop this call after this much wall-clock time, saving a checkpoint, or null for no limit.</summary>
    /// <value>The default value is null.</value>
    public TimeSpan? MaxDuration { get; init; }

    /// <summary>Image–caption pairs per micro-batch; every other pair of the batch is a negative. Capped at the dataset's size.</summary>
    /// <value>The default value is 64.</value>
    public int BatchSize { get; init; } = 64;

    /// <summary>Micro-batches whose gradients are summed before each optimizer step (each micro-batch is its own contrastive batch).</summary>
    /// <value>The default value is 1.</value>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Peak learning rate (AdamW), reached after <see cref="WarmupSteps"/>.</summary>
    /// <value>The default value is 5e-4.</value>
    public double LearningRate { get; init; } = 5e-4;

    /// <summary>AdamW β₁.</summary>
    /// <value>The default value is 0.9.</value>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW β₂.</summary>
    /// <value>The default value is 0.98.</value>
    public double Beta2 { get; init; } = 0.98;

    /// <summary>Decoupled weight decay, applied to weight matrices only (not to biases, norms, embedding vectors, <c>logit_scale</c> or the SigLIP bias, as open_clip).</summary>
    /// <value>The default value is 0.2.</value>
    public double WeightDecay { get; init; } = 0.2;

    /// <summary>AdamW ε.</summary>
    /// <value>The default value is 1e-6.</value>
    public double AdamEpsilon { get; init; } = 1e-6;

    /// <summary>Optimizer steps of linear learning-rate warm-up.</summary>
    /// <value>The default value is 50.</value>
    public int WarmupSteps { get; init; } = 50;

    /// <summary>The learning rate after warm-up.</summary>
    /// <value>The default value is <see cref="LearningRateSchedule.Cosine"/>.</value>
    public LearningRateSchedule LearningRateSchedule { get; init; } = LearningRateSchedule.Cosine;

    /// <summary>Clip the gradients' global L2 norm to this value, or null for no clipping.</summary>
    /// <value>The default value is 1.0.</value>
    public double? MaxGradNorm { get; init; } = 1.0;

    /// <summary>Keep an exponential moving average of the weights and leave it in the model at the end.</summary>
    /// <value>The default value is false.</value>
    public bool UseEma { get; init; }

    /// <summary>Largest EMA decay; the decay warms up as min(EmaDecay, (1 + step) / (10 + step)).</summary>
    /// <value>The default value is 0.9999.</value>
    public double EmaDecay { get; init; } = 0.9999;

    /// <summary>The objective.</summary>
    /// <value>The default value is <see cref="ClipLossKind.Clip"/>.</value>
    public ClipLossKind Loss { get; init; } = ClipLossKind.Clip;

    /// <summary>Flip each training image left–right with probability ½ (only where that keeps captions true).</summary>
    /// <value>The default value is false.</value>
    public bool RandomHorizontalFlip { get; init; }

    /// <summary>Seed of the batch order and the flips; a batch depends only on (seed, epoch, index), so a resumed run sees the same data.</summary>
    /// <value>The default value is 0.</value>
    public long Seed { get; init; }

    /// <summary>Folder for checkpoints (<c>checkpoint-00000100.safetensors</c>); <see cref="ClipTrainer.Fit"/> resumes from the newest one there. Null: no checkpoints.</summary>
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

    /// <summary>Write a log line every this many optimizer steps.</summary>
    /// <value>The default value is 10.</value>
    public int LogEverySteps { get; init; } = 10;

    /// <summary>Logging.</summary>
    /// <value>The default value is <see cref="NullLoggerFactory.Instance"/>.</value>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Checks every option and throws one exception listing every violation.</summary>
    /// <exception cref="ArgumentException">One or more options are out of range.</exception>
    public void Validate()
    {
        // The options the training engine shares with TrainerOptions are checked there, by the same rules.
        List<string> errors = TrainingOptionsRules.GetViolations(this);
        if (BatchSize < 2)
        {
            errors.Add($"BatchSize must be at least 2 (a contrastive batch needs negatives); got {BatchSize}.");
        }

        if (!Enum.IsDefined(Loss))
        {
            errors.Add($"Loss must be Clip or SigLip; got {(int)Loss}.");
        }

        TrainingOptionsRules.ThrowIfAny("CLIP trainer", errors);
    }
}
