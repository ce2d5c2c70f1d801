using Diffusion.Data;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Diffusion.Internal;

namespace Diffusion.Training;

/// <summary>Options for <see cref="Trainer"/>. Defaults are the book's (chapter 15) where it sets one.</summary>
public sealed record TrainerOptions : ITrainingOptions
{
    /// <summary>Passes over the dataset. <value>The default value is 1.</value></summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Stop after this many optimizer steps in total (resumed steps included), whatever <see cref="Epochs"/> says. <value>The default value is null (no limit).</value></summary>
    public long? MaxSteps { get; init; }

    /// <summary>
    /// The optimizer steps the model's starting weights have already had, for a run that starts from weights
    /// without a checkpoint (say, weights a person committed or downloaded): the run goes on from this step as
    /// a resumed run would. The learning-rate schedule (warm-up, cosine) and the EMA decay's warm-up continue
    /// from here instead of starting again from 0, steps are numbered from here (progress, logs, checkpoint
    /// names, <see cref="TrainingResult.Steps"/>), and <see cref="MaxSteps"/> and the step total that
    /// <see cref="Epochs"/> implies count these steps too. AdamW's moment estimates cannot be recovered from
    /// weights alone and start from zero (with their bias correction from its first step), the EMA starts from
    /// the starting weights, and the data order starts at the first batch of epoch 0.
    /// Ignored when <see cref="Trainer.Fit"/> resumes from a checkpoint: the checkpoint carries its own step.
    /// See also <see cref="MomentWarmupSteps"/>.
    /// <value>The default value is 0 (a fresh run).</value>
    /// </summary>
    public long InitialStep { get; init; }

    /// <summary>
    /// For a run that starts at <see cref="InitialStep"/> &gt; 0 without a checkpoint: this many optimizer steps'
    /// worth of batches are first used only to fill AdamW's moment estimates (gradients computed, weights left
    /// exactly as they are, no step counted or reported), and the run's first real step then takes the continued
    /// schedule's learning rate. Without it, AdamW's first steps from empty moments move every weight by about
    /// the learning rate whatever its gradient (m̂/√v̂ = ±1): from the Flowers sample's committed weights at
    /// 1e-3 that lifted the training loss from 0.10 to 0.36 in one step. 20 = 1/(1 − <see cref="Beta1"/>) at the
    /// book's β1 = 0.95, the span the first moment averages over. 0 turns it off.
    /// <value>The default value is 20.</value>
    /// </summary>
    public int MomentWarmupSteps { get; init; } = 20;

    /// <summary>Stop this call after this much wall time, saving a checkpoint. <value>The default value is null (no limit).</value></summary>
    public TimeSpan? MaxDuration { get; init; }

    /// <summary>Images per batch. <value>The default value is 16.</value></summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Micro-batches whose gradients are summed before each optimizer step. <value>The default value is 1.</value></summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Peak learning rate of AdamW. <value>The default value is 1e-4 (the book's).</value></summary>
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>AdamW β1. <value>The default value is 0.95 (the book's).</value></summary>
    public double Beta1 { get; init; } = 0.95;

    /// <summary>AdamW β2. <value>The default value is 0.999.</value></summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>AdamW decoupled weight decay. <value>The default value is 1e-5 (the book's).</value></summary>
    public double WeightDecay { get; init; } = 1e-5;

    /// <summary>AdamW ε. <value>The default value is 1e-8.</value></summary>
    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>Optimizer steps of linear learning-rate warm-up. <value>The default value is 300 (the book's).</value></summary>
    public int WarmupSteps { get; init; } = 300;

    /// <summary>The learning rate after warm-up. <value>The default value is <see cref="LearningRateSchedule.Cosine"/>.</value></summary>
    public LearningRateSchedule LearningRateSchedule { get; init; } = LearningRateSchedule.Cosine;

    /// <summary>The loss. <value>The default value is <see cref="LossType.L1"/> (the book's).</value></summary>
    public LossType Loss { get; init; } = LossType.L1;

    /// <summary>Min-SNR-γ loss weighting (Hang et al. 2023), e.g. 5; null turns it off. <value>The default value is null.</value></summary>
    public double? MinSnrGamma { get; init; }

    /// <summary>Clip the gradients' global L2 norm to this value; null turns clipping off. <value>The default value is 1.0.</value></summary>
    public double? MaxGradNorm { get; init; } = 1.0;

    /// <summary>Keep an exponential moving average of the weights. <value>The default value is true.</value></summary>
    public bool UseEma { get; init; } = true;

    /// <summary>Largest EMA decay; the decay warms up as min(EmaDecay, (1 + step) / (10 + step)). <value>The default value is 0.9999.</value></summary>
    public double EmaDecay { get; init; } = 0.9999;

    /// <summary>Run the model in bfloat16 with float32 master weights in the optimizer. <value>The default value is false.</value></summary>
    public bool BFloat16 { get; init; }

    /// <summary>Seed of the noise and timestep generator and of the loader's shuffling and augmentation. <value>The default value is 0.</value></summary>
    public long Seed { get; init; }

    /// <summary>Loader worker threads; null picks min(4, processor count). <value>The default value is null.</value></summary>
    public int? LoaderWorkers { get; init; }

    /// <summary>Randomly flip images horizontally (the book's augmentation). <value>The default value is true.</value></summary>
    public bool RandomHorizontalFlip { get; init; } = true;

    /// <summary>Folder for checkpoints; <see cref="Trainer.Fit"/> resumes from the newest one there. Null: no checkpoints. <value>The default value is null.</value></summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Write a checkpoint every this many optimizer steps (and always at the end). <value>The default value is 500.</value></summary>
    public int CheckpointEverySteps { get; init; } = 500;

    /// <summary>How many checkpoints to keep; older ones are deleted once a newer one is complete. <value>The default value is 3.</value></summary>
    public int KeepCheckpoints { get; init; } = 3;

    /// <summary>What to do on a NaN or infinite loss. <value>The default value is <see cref="NonFiniteLossPolicy.Stop"/>.</value></summary>
    public NonFiniteLossPolicy OnNonFiniteLoss { get; init; } = NonFiniteLossPolicy.Stop;

    /// <summary>
    /// What training does with an image it cannot read (<see cref="DataLoaderOptions.OnError"/>): stop with the
    /// dataset's <see cref="InvalidDataException"/> naming the file (the checkpoints written so far stay), or
    /// use the next readable item instead and log a warning once per file.
    /// <value>The default value is <see cref="DataErrorHandling.Throw"/>.</value>
    /// </summary>
    public DataErrorHandling OnDataError { get; init; } = DataErrorHandling.Throw;

    /// <summary>Write a log line ("step 100, average loss …") every this many steps. <value>The default value is 100.</value></summary>
    public int LogEverySteps { get; init; } = 100;

    /// <summary>Device to train on; null uses the model's current device. <value>The default value is null.</value></summary>
    public Device? Device { get; init; }

    /// <summary>Logging. <value>The default value is <see cref="NullLoggerFactory.Instance"/>.</value></summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Checks every option and throws one exception listing every violation.</summary>
    /// <exception cref="ArgumentException">One or more options are out of range.</exception>
    public void Validate()
    {
        // The options the training engine shares with ClipTrainerOptions are checked there, by the same rules.
        List<string> errors = TrainingOptionsRules.GetViolations(this);
        void Check(bool ok, string message)
        {
            if (!ok)
            {
                errors.Add(message);
            }
        }

        Check(MinSnrGamma is null or > 0, $"MinSnrGamma must be positive or null; got {MinSnrGamma}.");
        Check(LoaderWorkers is null or >= 1, $"LoaderWorkers must be at least 1 or null; got {LoaderWorkers}.");
        Check(Enum.IsDefined(OnDataError), $"OnDataError must be Throw or SkipAndLog; got {(int)OnDataError}.");
        OptionsValidation.ThrowIfAny(nameof(TrainerOptions), errors);
    }
}
