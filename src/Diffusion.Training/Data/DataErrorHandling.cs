namespace Diffusion.Data;

/// <summary>What the <see cref="DataLoader"/> does when an item cannot be read.</summary>
public enum DataErrorHandling
{
    /// <summary>
    /// The enumeration throws the dataset's exception (an <see cref="InvalidDataException"/> naming the
    /// file) when it reaches the batch that holds the item.
    /// </summary>
    Throw,

    /// <summary>
    /// The item is replaced by the next readable item in dataset order (wrapping round), and a warning is
    /// logged once per unreadable item. Batches keep their size, and the replacement depends only on the
    /// dataset, so runs and resumes stay identical.
    /// </summary>
    SkipAndLog,
}
