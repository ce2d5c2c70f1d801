namespace Diffusion.Training;

/// <summary>How the learning rate moves after its linear warm-up.</summary>
public enum LearningRateSchedule
{
    /// <summary>Half a cosine down to zero at the last step (the book's). Needs a known number of steps.</summary>
    Cosine,

    /// <summary>Constant after warm-up: for open-ended, time-bounded or repeatedly resumed training.</summary>
    Constant,
}
