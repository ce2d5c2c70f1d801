using Diffusion.Data;
using Diffusion.Internal;

namespace Diffusion.Training;

/// <summary>
/// Options for <see cref="Trainer"/>: the training engine's settings (<see cref="TrainingOptions"/>, with the book's
/// defaults from chapter 15) and the denoising trainer's own (the loss, the precision, the data loader, the device).
/// </summary>
public sealed record TrainerOptions : TrainingOptions
{
    /// <summary>The loss.</summary>
    /// <value>The default value is <see cref="LossType.L1"/> (the book's).</value>
    public LossType Loss { get; init; } = LossType.L1;

    /// <summary>Min-SNR-γ loss weighting (Hang et al. 2023), e.g. 5; null turns it off.</summary>
    /// <value>The default value is null.</value>
    public double? MinSnrGamma { get; init; }

    /// <summary>Run the model in bfloat16 with float32 master weights in the optimizer.</summary>
    /// <value>The default value is false.</value>
    public bool BFloat16 { get; init; }

    /// <summary>Loader worker threads; null picks min(4, processor count).</summary>
    /// <value>The default value is null.</value>
    public int? LoaderWorkers { get; init; }

    /// <summary>Randomly flip images horizontally (the book's augmentation).</summary>
    /// <value>The default value is true.</value>
    public bool RandomHorizontalFlip { get; init; } = true;

    /// <summary>
    /// What training does with an image it cannot read (<see cref="DataLoaderOptions.OnError"/>): stop with the
    /// dataset's <see cref="InvalidDataException"/> naming the file (the checkpoints written so far stay), or
    /// use the next readable item instead and log a warning once per file.
    /// </summary>
    /// <value>The default value is <see cref="DataErrorHandling.Throw"/>.</value>
    public DataErrorHandling OnDataError { get; init; } = DataErrorHandling.Throw;

    /// <summary>Device to train on; null uses the model's current device.</summary>
    /// <value>The default value is null.</value>
    public Device? Device { get; init; }

    private protected override void AddViolations(List<string> errors)
    {
        base.AddViolations(errors);
        OptionsValidation.Check(errors, MinSnrGamma is null or > 0, $"MinSnrGamma must be positive or null; got {MinSnrGamma}.");
        OptionsValidation.Check(errors, LoaderWorkers is null or >= 1, $"LoaderWorkers must be at least 1 or null; got {LoaderWorkers}.");
        OptionsValidation.Check(errors, Enum.IsDefined(OnDataError), $"OnDataError must be Throw or SkipAndLog; got {(int)OnDataError}.");
    }
}
